"""A run folder is always finishable; bad input never touches the disk; checkpoints are checked before use.

Crash points (``DLPRIMER_CRASH_AT``) kill a real ``dlprimer train`` process at each window of the run-folder
lifecycle; ``--resume`` must then end exactly as an uninterrupted run (every key without "time" in its name).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlprimer.cli import main
from dlprimer.train import TrainConfig, fit
from dlprimer.train.faults import CRASH_POINTS, EXIT_STATUS
from dlprimer.train.run_folder import MARKER

TINY = ["--epochs", "3", "--batch-size", "64", "--image-size", "16", "--quiet"]


def tiny_config(out: Path, name: str, **kw) -> TrainConfig:
    return TrainConfig(out=str(out), name=name, **{"epochs": 3, "batch_size": 64, "image_size": 16, **kw})


def without_time(obj):
    if isinstance(obj, dict):
        return {k: without_time(v) for k, v in obj.items() if "time" not in k}
    if isinstance(obj, list):
        return [without_time(v) for v in obj]
    return obj


def outcome(run_dir: Path) -> tuple[list, dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return without_time(rows), without_time(json.loads((run_dir / "summary.json").read_text()))


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def run_cli(args: list[str], crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("DLPRIMER_CRASH_AT", None)
    if crash_at:
        env["DLPRIMER_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "dlprimer", "train", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[list, dict]:
    out = tmp_path_factory.mktemp("ref")
    return outcome(fit(tiny_config(out, "run")).run_dir)


# ------------------------------------------------------------------------------------------ crash points
@pytest.mark.parametrize("point", ["after-claim", "after-config", "after-metrics-append:2",
                                   "during-checkpoint-write:2", "after-checkpoint:1", "before-summary"])
def test_kill_at_crash_point_then_resume_equals_uninterrupted(point, reference, tmp_path, capsys):
    proc = run_cli([*TINY, "--out", str(tmp_path), "--name", "run"], crash_at=point)
    assert proc.returncode == EXIT_STATUS, proc.stderr
    run = tmp_path / "run"
    assert (run / MARKER).is_file() and (run / "config.json").is_file()  # resumable from the first moment
    assert not (run / "summary.json").exists()
    if point.startswith("during-checkpoint-write"):
        assert list(run.glob(".checkpoint.pt.*.tmp")), "the kill should leave a temporary file"
    if point in ("after-claim", "after-config"):
        assert not (run / "checkpoint.pt").exists()  # killed before the first checkpoint
    assert main(["train", "--resume", str(run), "--quiet"]) == 0, capsys.readouterr().err
    assert outcome(run) == reference
    assert not list(run.glob(".*.tmp"))  # stale temporaries removed


def test_kill_during_resume_then_resume_again(reference, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli([*TINY, "--out", str(tmp_path), "--name", "run"],
                   crash_at="after-metrics-append:2").returncode == EXIT_STATUS
    proc = run_cli(["--resume", str(run), "--quiet"], crash_at="during-resume")
    assert proc.returncode == EXIT_STATUS, proc.stderr
    assert main(["train", "--resume", str(run), "--quiet"]) == 0, capsys.readouterr().err
    assert outcome(run) == reference


def test_every_crash_point_is_tested_and_inert_unless_set(monkeypatch):
    from dlprimer.train.faults import crash_point

    tested = {"after-claim", "after-config", "after-metrics-append", "during-checkpoint-write", "after-checkpoint",
              "before-summary", "during-resume"}
    assert set(CRASH_POINTS) == tested
    monkeypatch.delenv("DLPRIMER_CRASH_AT", raising=False)
    for point in CRASH_POINTS:
        crash_point(point)  # returns: nothing set
    monkeypatch.setenv("DLPRIMER_CRASH_AT", "before-summary")
    crash_point("after-claim")  # another point: returns


# ------------------------------------------------------------------------------------------ resume options
def test_epochs_on_resume_extends_the_run(tmp_path, capsys):
    run = fit(tiny_config(tmp_path, "run", epochs=2)).run_dir
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    rows, summary = outcome(run)
    assert [r["epoch"] for r in rows] == [1, 2, 3] and summary["epochs"] == 3 and summary["status"] == "completed"
    assert json.loads((run / "config.json").read_text())["epochs"] == 3
    before = snapshot(tmp_path)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
    assert "fewer than the 3 epochs" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
    assert main(["train", "--resume", str(run), "--lr", "0.1", "--quiet"]) == 2
    assert "only --epochs may be given" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_overwrite_replaces_only_a_run_folder_after_a_clean_start(tmp_path, capsys):
    run = fit(tiny_config(tmp_path, "run", epochs=1)).run_dir
    before = snapshot(tmp_path)
    if not torch.cuda.is_available():  # a bad option with --overwrite: the old run stays untouched
        assert main(["train", *TINY, "--out", str(tmp_path), "--name", "run", "--overwrite", "--device", "cuda"]) == 2
        assert "cuda" in capsys.readouterr().err
        assert snapshot(tmp_path) == before
    assert main(["train", *TINY, "--out", str(tmp_path), "--name", "run", "--overwrite", "--epochs", "2"]) == 0
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging or aside folder left
    other = tmp_path / "mine"
    (other / "sub").mkdir(parents=True)
    (other / "important.txt").write_text("keep me")
    before = snapshot(tmp_path)
    assert main(["train", *TINY, "--out", str(tmp_path), "--name", "mine", "--overwrite"]) == 2
    assert "not a dlprimer run folder" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("args,message", [
    (["--seed", "4294967296"], "seed must be an integer"),
    (["--seed", "-1"], "seed must be an integer"),
    (["--model", "alexnet"], "use --image-size"),
    (["--val-split", "0"], "val_split"),
    (["--workers", "-1"], "workers"),
    (["--monitor", "loss"], "monitor"),
    (["--name", "../x"], "name must be a plain folder name"),
])
def test_bad_options_leave_the_file_system_unchanged(args, message, tmp_path, capsys):
    (tmp_path / "existing").mkdir()
    before = snapshot(tmp_path)
    rc = main(["train", *TINY, "--out", str(tmp_path), "--name", "x", *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(tmp_path) == before


def test_divergence_is_one_line_and_marks_the_summary(tmp_path, capsys):
    rc = main(["train", *TINY, "--out", str(tmp_path), "--name", "d", "--lr", "1e6"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "diverged at epoch 1" in err and "--lr" in err and "--clip-grad" in err
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged_at_epoch"] == 1


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    from dlprimer.train import DivergedError
    from dlprimer.train.checkpoint import load_checkpoint

    class Explode:
        """After epoch 1, make the next batch's loss infinite by corrupting a weight."""

        def __init__(self) -> None:
            self.engine = None

    cfg = tiny_config(tmp_path, "d", epochs=2)
    from dlprimer.train import engine as eng

    prepared = eng.prepare(cfg)
    calls = []

    def poison(row):
        calls.append(row["epoch"])
        with torch.no_grad():
            next(prepared.engine.model.parameters()).fill_(float("inf"))

    folder = eng.RunFolder.claim(cfg, "d", overwrite=False)
    with pytest.raises(DivergedError, match="epoch 2"):
        eng._run(prepared, folder, state=None, callbacks=(), on_epoch=poison)
    state = load_checkpoint(tmp_path / "d" / "checkpoint.pt")
    assert state["epoch"] == 1 and calls == [1]
    assert torch.isfinite(next(iter(state["engine"]["model"].values()))).all()
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["status"] == "diverged"


# ------------------------------------------------------------------------------------------ checkpoints
@pytest.fixture
def finished(tmp_path) -> Path:
    return fit(tiny_config(tmp_path, "run", epochs=2)).run_dir


def _edit_checkpoint(run: Path, edit) -> None:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    edit(state)
    torch.save(state, run / "checkpoint.pt")


@pytest.mark.parametrize("edit,field", [
    (lambda s: s.update(epoch=100), "epoch"),
    (lambda s: s.update(history=s["history"][:1]), "history"),
    (lambda s: s["rng"].update(torch=torch.zeros(7, dtype=torch.uint8)), "rng.torch"),
    (lambda s: s["rng"]["numpy"].update(pos=10_000), "rng.numpy"),
    (lambda s: s["engine"]["model"].update({"features.0.weight": torch.zeros(3, 1, 5, 5)}),
     "engine.model.features.0.weight"),
    (lambda s: s["engine"]["model"].pop("features.0.bias"), "engine.model"),
    (lambda s: s["engine"]["model"].update({"features.0.bias": torch.zeros(6, dtype=torch.float64)}),
     "engine.model.features.0.bias"),
    (lambda s: s.pop("rng"), "rng"),
])
def test_bad_checkpoint_is_one_line_naming_file_and_field(finished, edit, field, capsys):
    _edit_checkpoint(finished, edit)
    before = snapshot(finished)
    for args in (["train", "--resume", str(finished), "--quiet"], ["evaluate", str(finished)]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "checkpoint.pt" in err and f": {field}" in err, err
    assert snapshot(finished) == before


def test_config_naming_another_model_is_one_line(finished, capsys):
    config = json.loads((finished / "config.json").read_text())
    (finished / "config.json").write_text(json.dumps({**config, "model": "resnet18"}))
    before = snapshot(finished)
    assert main(["train", "--resume", str(finished), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "config.model" in err and "resnet18" in err and len(err.strip().splitlines()) == 1
    assert snapshot(finished) == before


def test_malicious_pickle_gives_no_warning_noise(tmp_path, recwarn):
    from fractions import Fraction

    from dlprimer.train.checkpoint import load_checkpoint
    from dlprimer.train.errors import CheckpointError

    path = tmp_path / "evil.pt"
    torch.save({"format": "dlprimer-checkpoint-v1", "obj": Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError, match="corrupt or not a dlprimer checkpoint"):
        load_checkpoint(path)
    assert not [w for w in recwarn if "torch" in str(w.filename) or "weights_only" in str(w.message)]
