"""The training job end to end: accuracy, run folder, reproducibility, resume after SIGKILL, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from dlprimer.cli import main
from dlprimer.train import TrainConfig, evaluate_run, fit, predict_images
from dlprimer.train.checkpoint import load_checkpoint

PNG = b"\x89PNG\r\n\x1a\n"


def metrics_without_timing(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("time_s")
    return rows


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("runs")
    result = fit(TrainConfig(out=str(out), name="default"))
    return result.run_dir, result.summary


def test_default_run_reaches_097_and_writes_the_run_folder(default_run):
    run_dir, summary = default_run
    assert summary["test_accuracy"] >= 0.97
    for name in ("config.json", "metrics.jsonl", "summary.json", "checkpoint.pt"):
        assert (run_dir / name).is_file(), name
    for name in ("curves.png", "confusion.png"):
        assert (run_dir / name).read_bytes()[:8] == PNG, name
    rows = metrics_without_timing(run_dir)
    assert [r["epoch"] for r in rows] == list(range(1, TrainConfig().epochs + 1))
    saved = json.loads((run_dir / "summary.json").read_text())
    assert saved["test_accuracy"] == summary["test_accuracy"] and saved["wall_time_s"] > 0
    assert TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text())) == TrainConfig(
        out=str(run_dir.parent), name="default").validate()  # validate() fills in the data's defaults (lr)


def test_summary_per_class_metrics_equal_sklearn(default_run):
    run_dir, summary = default_run
    from dlprimer.train.engine import load_run

    _, engine, task = load_run(run_dir)
    data = task.splits
    pred = engine.predict(data.test.images).argmax(1)
    p, r, f, s = precision_recall_fscore_support(data.test.labels, pred, labels=range(10), zero_division=0)
    for k in range(10):
        row = summary["per_class"][str(k)]
        assert row["precision"] == pytest.approx(p[k], abs=1e-12)
        assert row["recall"] == pytest.approx(r[k], abs=1e-12)
        assert row["f1"] == pytest.approx(f[k], abs=1e-12)
        assert row["support"] == s[k]
    assert summary["confusion_matrix"] == sk_confusion(data.test.labels, pred, labels=range(10)).tolist()
    assert summary["test_accuracy"] == pytest.approx(float(np.mean(pred == data.test.labels)), abs=1e-15)
    assert summary["macro_f1_mean"] == pytest.approx(float(np.mean(f)), abs=1e-12)
    p_bar, r_bar = float(np.mean(p)), float(np.mean(r))
    assert summary["macro_f1"] == pytest.approx(2 * p_bar * r_bar / (p_bar + r_bar), abs=1e-12)  # the notes


def test_evaluate_recomputes_the_summary(default_run):
    run_dir, summary = default_run
    again = evaluate_run(run_dir)
    assert again["test_accuracy"] == summary["test_accuracy"]
    assert again["per_class"] == summary["per_class"]


def test_checkpoint_loads_with_weights_only(default_run):
    run_dir, _ = default_run
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == TrainConfig().epochs
    assert set(state["engine"]) >= {"model", "optimizer", "schedule"}


def test_predict_reads_image_files(default_run, tmp_path):
    import matplotlib.image as mpimg
    from sklearn.datasets import load_digits

    run_dir, _ = default_run
    digits = load_digits()
    paths, truth = [], []
    for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11):
        path = tmp_path / f"digit{i}.png"
        img = np.kron(digits.images[i] / 16.0, np.ones((4, 4)))  # 32×32, light ink on dark
        mpimg.imsave(path, 1.0 - img, cmap="gray", vmin=0, vmax=1)  # saved as dark ink on light paper
        paths.append(path)
        truth.append(int(digits.target[i]))
    ranked = predict_images(run_dir, paths, top_k=3)
    assert all(len(r) == 3 for r in ranked)
    # probabilities of the top 3 of 10 classes: sorted, in (0, 1], summing to at most 1
    assert all([p for _, p in r] == sorted((p for _, p in r), reverse=True) for r in ranked)
    assert all(0 < p <= 1 for r in ranked for _, p in r)
    assert all(sum(p for _, p in r) <= 1 + 1e-9 for r in ranked)
    full = predict_images(run_dir, paths[:2], top_k=10)
    assert all(abs(sum(p for _, p in r) - 1) < 1e-9 for r in full)  # all ten classes: a distribution
    top1 = [int(r[0][0]) for r in ranked]
    assert np.mean(np.array(top1) == np.array(truth)) >= 0.75, (top1, truth)


def test_cli_predict_and_evaluate(default_run, tmp_path, capsys):
    import matplotlib.image as mpimg

    run_dir, summary = default_run
    path = tmp_path / "blank.png"
    mpimg.imsave(path, np.zeros((16, 16)), cmap="gray")
    assert main(["predict", str(run_dir), str(path), "--top-k", "2"]) == 0
    assert "blank.png:" in capsys.readouterr().out
    assert main(["evaluate", str(run_dir)]) == 0
    assert f"{summary['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["predict", str(run_dir), str(tmp_path / "missing.png")]) == 2
    assert "image not found" in capsys.readouterr().err


def small(tmp: Path, name: str, **kw) -> TrainConfig:
    return TrainConfig(out=str(tmp), name=name, **{"epochs": 3, **kw})


def test_same_seed_gives_identical_metrics(tmp_path):
    a = fit(small(tmp_path, "a", seed=3)).run_dir
    b = fit(small(tmp_path, "b", seed=3)).run_dir
    c = fit(small(tmp_path, "c", seed=4)).run_dir
    assert metrics_without_timing(a) == metrics_without_timing(b)
    assert metrics_without_timing(a) != metrics_without_timing(c)


@pytest.mark.parametrize("options", [{"amp": True}, {"clip_grad": 0.5, "optimizer": "adamw", "lr": 0.003},
                                     {"optimizer": "adam", "lr": 0.002, "label_smoothing": 0.1, "schedule": "step",
                                      "nesterov": True, "init": "xavier_uniform"}])
def test_training_options_run_and_learn(tmp_path, options):
    result = fit(small(tmp_path, "o", epochs=2, **options))
    rows = metrics_without_timing(result.run_dir)
    assert all(np.isfinite(v) for row in rows for v in row.values())
    assert result.test_accuracy > 0.5  # far above chance (0.1) after two epochs


def test_sigkill_during_epoch_3_then_resume_equals_uninterrupted(tmp_path):
    epochs = 4
    ref = fit(small(tmp_path / "ref", "run", epochs=epochs, batch_size=16)).run_dir
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "dlprimer", "train", "--epochs", str(epochs), "--batch-size", "16", "--quiet",
           "--out", str(out), "--name", "run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    metrics = out / "run" / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.005)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(out / "run" / "checkpoint.pt")["epoch"]
    assert killed_at < epochs and not (out / "run" / "summary.json").exists()
    assert main(["train", "--resume", str(out / "run"), "--quiet"]) == 0
    assert metrics_without_timing(out / "run") == metrics_without_timing(ref)
    resumed = json.loads((out / "run" / "summary.json").read_text())
    uninterrupted = json.loads((ref / "summary.json").read_text())
    for key in ("test_accuracy", "test_loss", "per_class", "confusion_matrix"):
        assert resumed[key] == uninterrupted[key], key


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "resnet9000"], "unknown model 'resnet9000'"),
        (["--schedule", "sawtooth"], "unknown schedule 'sawtooth'"),
        (["--optimizer", "lion"], "unknown optimizer 'lion'"),
        (["--lr", "0"], "lr must be"),
        (["--lr", "-0.1"], "lr must be"),
        (["--epochs", "0"], "epochs must be an integer >= 1"),
        (["--batch-size", "-4"], "batch_size must be an integer >= 1"),
        (["--init", "magic"], "unknown init scheme"),
        (["--device", "tpu"], "device must be one of"),
        (["--engine", "jax"], "engine must be one of"),
        (["--label-smoothing", "1.5"], "label_smoothing"),
        (["--warmup-epochs", "50"], "warmup_epochs must be"),
    ],
)
def test_cli_bad_options_give_one_line_and_exit_2(args, message, tmp_path, capsys):
    rc = main(["train", "--quiet", "--out", str(tmp_path), "--name", "x", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()  # nothing was created


def test_cuda_without_gpu_is_a_clear_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["train", "--quiet", "--device", "cuda", "--out", str(tmp_path), "--name", "g"]) == 2
    assert "cuda" in capsys.readouterr().err


def test_existing_run_folder_is_never_overwritten(tmp_path, capsys):
    run = tmp_path / "keep"
    run.mkdir()
    (run / "config.json").write_text("precious")
    assert main(["train", "--quiet", "--epochs", "1", "--out", str(tmp_path), "--name", "keep"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (run / "config.json").read_text() == "precious"
    # not a dlprimer run folder (no marker): --overwrite refuses too
    assert main(["train", "--quiet", "--epochs", "1", "--out", str(tmp_path), "--name", "keep", "--overwrite"]) == 2
    assert "not a dlprimer run folder" in capsys.readouterr().err
    assert (run / "config.json").read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "--quiet", "--out", str(blocker), "--name", "x"]) == 2
    assert "cannot write the run folder" in capsys.readouterr().err
    assert blocker.read_text() == "not a folder"


def test_resume_from_missing_or_corrupt_checkpoint(tmp_path, capsys):
    assert main(["train", "--quiet", "--resume", str(tmp_path / "nope")]) == 2
    assert "run folder not found" in capsys.readouterr().err
    run = fit(small(tmp_path, "r", epochs=1)).run_dir
    ckpt = run / "checkpoint.pt"
    good = ckpt.read_bytes()
    ckpt.write_bytes(good[: len(good) // 2])  # torn file
    assert main(["train", "--quiet", "--resume", str(run)]) == 2
    assert "corrupt" in capsys.readouterr().err
    ckpt.unlink()  # no checkpoint at all: the run starts again from epoch 0 with its saved config
    assert main(["train", "--quiet", "--resume", str(run)]) == 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1
    (run / "config.json").write_text("{not json")
    assert main(["evaluate", str(run)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_checkpoint_with_pickled_objects_is_refused(tmp_path):
    from fractions import Fraction

    path = tmp_path / "evil.pt"
    torch.save({"format": "dlprimer-checkpoint-v1", "obj": Fraction(1, 3)}, path)  # an arbitrary class
    with pytest.raises(ValueError, match="corrupt or not a dlprimer checkpoint"):
        load_checkpoint(path)
