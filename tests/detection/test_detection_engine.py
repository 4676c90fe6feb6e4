"""Detection runs on the one training engine: the Task contract, the shared run folder, resume with --epochs,
the EMA in the checkpoint, batch splitting for torchrun, and the generated ``detect train`` options."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlprimer.cli import main
from dlprimer.train.contract import Engine, Task
from dlprimer.train.detection import DetectConfig, fit_detection
from dlprimer.train.engine import fit, make_engine, make_task
from dlprimer.train.run_folder import RunFolder
from dlprimer.train.torch_engine import batch_size_of, rank_part, to_device

SRC = str(Path(__file__).resolve().parents[2] / "src")
TINY = dict(n_train=8, n_val=4, n_test=4, batch_size=4, image_size=64, eval_every=1)


def test_detection_task_and_engine_implement_the_contract():
    cfg = DetectConfig(model="centernet", epochs=1, **TINY)
    task = make_task(cfg)
    engine = make_engine(cfg, task)
    assert isinstance(task, Task) and isinstance(engine, Engine)
    assert task.kind == "detection" and task.num_classes == 10 and task.in_channels == 1
    assert engine.steps_per_epoch == 2 and engine.eval_model is engine.ema.module
    groups = engine.optimizer.param_groups  # weight decay only on conv / linear weights
    assert [g["weight_decay"] for g in groups] == [cfg.weight_decay, 0.0]
    assert all(p.ndim > 1 for p in groups[0]["params"]) and all(p.ndim == 1 for p in groups[1]["params"])


def test_fit_with_a_detect_config_writes_a_run_folder_that_reads_back(tmp_path):
    cfg = DetectConfig(model="fcos", epochs=2, out=str(tmp_path), name="r", **TINY)
    result = fit(cfg)
    folder = RunFolder.open(result.run_dir)
    assert folder.read_config() == cfg  # "task": "detection" in config.json selects DetectConfig
    assert json.loads((result.run_dir / "config.json").read_text())["task"] == "detection"
    rows = [json.loads(x) for x in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and all("val_AP" in r and "train_loss" in r for r in rows)
    summary = result.summary
    assert summary["status"] == "completed" and summary["epochs_completed"] == 2
    assert set(summary["stats"]) >= {"AP", "AP50", "AR@100"} and summary["split"] == "test"
    state = torch.load(result.run_dir / "checkpoint.pt", weights_only=True)
    assert state["engine"]["ema"]["updates"] == 2 * 2  # one EMA update per optimizer step
    assert (result.run_dir / "curves.png").is_file() and (result.run_dir / "eval" / "test" / "stats.json").is_file()


def test_eval_every_leaves_the_other_epochs_without_validation(tmp_path):
    cfg = DetectConfig(model="centernet", epochs=3, out=str(tmp_path), name="e", **{**TINY, "eval_every": 2})
    rows = fit_detection(cfg).history
    assert ["val_AP" in r for r in rows] == [False, True, True]  # epoch 2, and the last


def test_resume_extends_a_detection_run_and_refuses_other_options(tmp_path, capsys):
    out = ["--out", str(tmp_path), "--name", "x", "--quiet"]
    assert main(["detect", "train", "--model", "centernet", "--epochs", "1", "--n-train", "8", "--n-val", "4",
                 "--n-test", "4", "--batch-size", "4", "--image-size", "64", *out]) == 0
    run = tmp_path / "x"
    assert main(["detect", "train", "--resume", str(run), "--lr", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--lr" in err and "--resume" in err
    assert main(["detect", "train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


def test_fasterrcnn_refuses_nms_other_than_hard(tmp_path, capsys):
    assert main(["detect", "train", "--model", "fasterrcnn", "--nms", "diou", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--nms" in err and "fasterrcnn" in err and not any(tmp_path.iterdir())


def test_detect_train_options_are_the_config_fields(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["detect", "train", "--help"]) == 0
    text = capsys.readouterr().out
    for f in dataclasses.fields(DetectConfig):
        assert "--" + f.name.replace("_", "-") in text, f.name


def test_per_model_defaults_fill_only_what_was_not_given():
    from dlprimer.train.detection import MODEL_DEFAULTS

    for model, defaults in MODEL_DEFAULTS.items():
        assert DetectConfig(model=model).epochs == defaults["epochs"]
        assert DetectConfig(model=model, epochs=3).epochs == 3


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_rank_part_of_a_list_matches_tensor_split(world):
    for n in range(0, 11):
        items = list(range(n))
        tensor = torch.arange(n)
        parts = [rank_part(items, r, world) for r in range(world)]
        assert parts == [t.tolist() for t in torch.tensor_split(tensor, world)]
        assert [rank_part(tensor, r, world).tolist() for r in range(world)] == parts
        assert sum(batch_size_of(p) for p in parts) == n


def test_to_device_moves_nested_targets():
    targets = [{"boxes": torch.zeros(2, 4), "labels": torch.zeros(2, dtype=torch.long)}]
    moved = to_device(targets, torch.device("cpu"))
    assert moved[0]["boxes"].device.type == "cpu" and batch_size_of(moved) == 1


DDP_SCRIPT = """
import sys, torch
from dlprimer.train import distributed
from dlprimer.train.detection import DetectConfig
from dlprimer.train.engine import make_engine, make_task
with distributed.session("cpu"):
    torch.manual_seed(0)
    cfg = DetectConfig(model="fcos", epochs=1, n_train=8, n_val=2, n_test=2, batch_size=4, image_size=64,
                       augment="none", device="cpu")
    engine = make_engine(cfg, make_task(cfg))
    row = engine.train_epoch(1)
    rank = distributed.current().rank
    torch.save({"model": engine.model.state_dict(), "row": row}, f"{sys.argv[1]}/rank{rank}.pt")
"""


def test_two_processes_keep_identical_weights(tmp_path):
    """Under torchrun (gloo, 2 CPU processes) each rank trains on its half of every batch; the forward pass goes
    through the DDP wrapper, so gradients are all-reduced and both ranks end with the same weights (they would
    drift apart if the loss bypassed the wrapper), and those weights moved from the initial ones."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""))
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
                           "127.0.0.1", "--master-port", str(port), str(script), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k, v in a["model"].items():
        if "running" in k or "num_batches" in k:  # BatchNorm statistics are per rank (no SyncBatchNorm)
            continue
        torch.testing.assert_close(b["model"][k], v, rtol=0, atol=1e-6, msg=k)
    assert a["row"]["train_loss"] == pytest.approx(b["row"]["train_loss"], abs=1e-9)  # reduced over ranks
    cfg = DetectConfig(model="fcos", epochs=1, n_train=8, n_val=2, n_test=2, batch_size=4, image_size=64,
                       augment="none", device="cpu")
    torch.manual_seed(0)
    initial = make_engine(cfg, make_task(cfg)).model.state_dict()
    assert any(not torch.equal(initial[k], a["model"][k]) for k in initial if "weight" in k)


def test_each_task_s_commands_refuse_the_other_task_s_run_folder(tmp_path, capsys):
    out = ["--out", str(tmp_path), "--quiet", "--epochs", "1"]
    assert main(["detect", "train", "--model", "centernet", "--n-train", "4", "--n-val", "2", "--n-test", "2",
                 "--batch-size", "4", "--image-size", "64", "--name", "det", *out]) == 0
    assert main(["train", "--image-size", "16", "--name", "cls", *out]) == 0
    det, cls = str(tmp_path / "det"), str(tmp_path / "cls")
    from PIL import Image

    image = str(tmp_path / "x.png")
    Image.new("L", (20, 20)).save(image)
    capsys.readouterr()
    for argv, needle in ((["evaluate", det], "detect"), (["predict", det, image], "detect"),
                         (["export", det], "detect"), (["train", "--resume", det], "detect"),
                         (["detect", "evaluate", cls], "dlprimer train"), (["detect", "predict", cls, image],
                                                                           "dlprimer train"),
                         (["detect", "train", "--resume", cls], "dlprimer train")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "run folder" in err and needle in err, (argv, err)


def test_csv_log_of_a_detection_run_keeps_the_sparse_validation_columns(tmp_path):
    import csv

    cfg = DetectConfig(model="centernet", epochs=3, log="csv", out=str(tmp_path), name="c",
                       **{**TINY, "eval_every": 2})
    history = fit_detection(cfg).history
    with open(tmp_path / "c" / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["val_AP"] == "" and float(rows[1]["val_AP"]) == pytest.approx(history[1]["val_AP"], abs=1e-12)


def test_early_stop_shorter_than_the_validation_interval_is_refused(tmp_path, capsys):
    assert main(["detect", "train", "--early-stop", "2", "--eval-every", "5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--early-stop" in err and "--eval-every" in err
    assert DetectConfig(early_stop=5, eval_every=5).early_stop == 5


def test_detect_train_hands_over_to_torchrun(tmp_path):
    """``dlprimer detect train --nproc-per-node 2`` = torchrun with the other arguments: one run folder, written
    by rank 0 alone, and one report."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "dlprimer", "detect", "train", "--nproc-per-node", "2", "--model",
                           "centernet", "--epochs", "1", "--n-train", "8", "--n-val", "2", "--n-test", "2",
                           "--batch-size", "4", "--image-size", "64", "--device", "cpu", "--quiet", "--out",
                           str(tmp_path), "--name", "ddp"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("run folder:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]
    assert json.loads((tmp_path / "ddp" / "summary.json").read_text())["status"] == "completed"
