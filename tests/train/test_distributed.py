"""Multi-process training under torchrun (gloo on CPU, 2 processes, lenet5 — no BatchNorm, no dropout).

Oracle: the one-process run with the same global batch and seed (same global sample order) — the 2-process
run's final weights equal it to 1e-5; kill -9 mid-run then ``--resume`` equals the uninterrupted 2-process run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlprimer.train import distributed
from dlprimer.train.config import TrainConfig
from dlprimer.train.distributed import DistContext, check_global_batch
from dlprimer.train.engine import make_engine, make_task

SRC = str(Path(__file__).resolve().parents[2] / "src")
TINY = ["--model", "lenet5", "--epochs", "2", "--batch-size", "64", "--image-size", "16", "--quiet"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(crash_at: str | None = None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("DLPRIMER_CRASH_AT", "RANK", "WORLD_SIZE", "LOCAL_RANK")}
    e.update(OMP_NUM_THREADS="1", PYTHONPATH=SRC + os.pathsep + e.get("PYTHONPATH", ""))
    if crash_at:
        e["DLPRIMER_CRASH_AT"] = crash_at
    return e


def torchrun(args: list[str], cwd: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(free_port()), "-m", "dlprimer", "train", *args]
    return subprocess.run(cmd, env=env(crash_at), cwd=cwd, capture_output=True, text=True, timeout=120)


def one_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlprimer", "train", *args], env=env(), cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoint.pt", weights_only=True)["engine"]["model"]


def without_time(obj):
    if isinstance(obj, dict):
        return {k: without_time(v) for k, v in obj.items() if "time" not in k}
    if isinstance(obj, list):
        return [without_time(v) for v in obj]
    return obj


def outcome(run: Path) -> tuple[list, dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return without_time(rows), without_time(json.loads((run / "summary.json").read_text()))


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ddp")
    single, multi, cwd = root / "single", root / "multi", root / "cwd"
    cwd.mkdir()
    p1 = one_process([*TINY, "--out", str(single), "--name", "run"], cwd)
    assert p1.returncode == 0, p1.stderr
    # the 2-process reference through the CLI hand-over: dlprimer train --nproc-per-node 2
    p2 = subprocess.run([sys.executable, "-m", "dlprimer", "train", "--nproc-per-node", "2", *TINY, "--out",
                         str(multi), "--name", "run"], env=env(), cwd=cwd, capture_output=True, text=True, timeout=120)
    assert p2.returncode == 0, p2.stderr
    assert "test accuracy" in p2.stdout and p2.stdout.count("run folder:") == 1  # rank 0 alone reports
    return {"single": single / "run", "multi": multi / "run", "cwd": cwd, "root": root}


def test_two_processes_end_with_the_one_process_weights(runs):
    a, b = weights(runs["single"]), weights(runs["multi"])
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k].double(), a[k].double(), rtol=0, atol=1e-5, msg=k)
    rows_1, summary_1 = outcome(runs["single"])
    rows_2, summary_2 = outcome(runs["multi"])
    for r1, r2 in zip(rows_1, rows_2, strict=True):  # train metrics reduced over ranks, weighted by samples
        assert r2.keys() == r1.keys()
        for k in r1:
            assert r2[k] == pytest.approx(r1[k], abs=1e-5), k
    assert summary_2["test_accuracy"] == pytest.approx(summary_1["test_accuracy"], abs=1e-9)


def test_only_rank_0_wrote_files(runs):
    assert tree(runs["multi"].parent) == tree(runs["single"].parent)  # same files, nothing from rank 1
    assert tree(runs["cwd"]) == set()


def test_kill_minus_9_then_resume_equals_uninterrupted(runs, tmp_path):
    crashed = torchrun([*TINY, "--out", str(tmp_path), "--name", "run"], tmp_path, crash_at="after-checkpoint:1")
    assert crashed.returncode != 0, crashed.stderr  # a rank died by os._exit(137), as kill -9
    run = tmp_path / "run"
    assert not (run / "summary.json").exists()
    resumed = torchrun(["--resume", str(run), "--quiet"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert outcome(run) == outcome(runs["multi"])
    assert tree(tmp_path) == {"run", *(f"run/{n}" for n in tree(runs["multi"]))}


def test_global_batch_must_split_over_the_processes():
    check_global_batch(64, 2)
    with pytest.raises(ValueError, match=r"--batch-size .*global.*2 processes.*got 63"):
        check_global_batch(63, 2)


def test_torch_engine_checks_the_global_batch_and_scratch_is_single_process(monkeypatch):
    monkeypatch.setattr(distributed, "_CURRENT", DistContext(world_size=2, rank=0, local_rank=0, backend="gloo"))
    config = TrainConfig(model="lenet5", image_size=16, batch_size=63, epochs=1)
    with pytest.raises(ValueError, match="divisible"):
        make_engine(config, make_task(config))
    config = TrainConfig(model="mlp", engine="scratch", image_size=16, epochs=1)
    with pytest.raises(ValueError, match="scratch is single-process"):
        make_engine(config, make_task(config))


def test_nproc_per_node_must_be_positive(tmp_path):
    proc = one_process(["--nproc-per-node", "0", *TINY, "--out", str(tmp_path)], tmp_path)
    assert proc.returncode == 2 and "nproc_per_node" in proc.stderr and "Traceback" not in proc.stderr
    assert tree(tmp_path) == set()


def test_nproc_per_node_checks_the_global_batch_before_starting(tmp_path):
    proc = one_process(["--nproc-per-node", "2", *TINY, "--batch-size", "63", "--out", str(tmp_path)], tmp_path)
    assert proc.returncode == 2 and "divisible" in proc.stderr and "Traceback" not in proc.stderr
    assert tree(tmp_path) == set()
