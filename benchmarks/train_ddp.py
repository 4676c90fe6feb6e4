"""Throughput of ``dlprimer train`` with 1 and 2 processes (torchrun, gloo on CPU) on this machine, in one run.

Each run is the same command (lenet5 on the digits, the same GLOBAL ``--batch-size``); images/s is the number of
training images divided by the median of the epochs' ``time_s`` from ``metrics.jsonl`` after the first epoch
(process start-up and the process-group rendezvous are not counted). Prints both and the ratio 2p / 1p.

    OMP_NUM_THREADS=1 python benchmarks/train_ddp.py [--epochs 3] [--batch-size 64] [--model lenet5]

What limits scaling on a 2-core machine: each process runs torch with 1 thread, so 2 processes use both cores —
at best 2x, but only if nothing else runs (the machine is shared). Per step, every rank loads and augments the
whole global batch and keeps its slice (exact single-process equivalence; that part is not split), DDP
all-reduces every gradient through gloo (a memory copy + a TCP loopback round trip per bucket), train metrics
need one more all-reduce per step, and validation is done by every rank on the whole split. For a model as small
as lenet5 at 16×16 a step is ~1 ms of compute, so these fixed costs dominate; bigger models and batches scale
better.

Measured 2026-11-29 on the shared 2-core helper machine (load average ~2.5–2.9 from other jobs, so noisy):
lenet5, image size 16, global batch 64: 1 process 11 527 images/s, 2 processes 6 305 → ratio 0.55;
image size 32, global batch 256: 7 496 vs 5 388 → ratio 0.72. Two processes are slower here: the cores were
already busy and the per-step fixed costs above outweigh lenet5's tiny compute.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_size(args: argparse.Namespace) -> int:
    from dlprimer.train import TrainConfig
    from dlprimer.train.engine import make_task

    config = TrainConfig(model=args.model, image_size=args.image_size, batch_size=args.batch_size)
    return len(make_task(config).train_dataset())


def images_per_second(nproc: int, args: argparse.Namespace, out: Path) -> float:
    train = ["-m", "dlprimer", "train", "--model", args.model, "--epochs", str(args.epochs), "--batch-size",
             str(args.batch_size), "--image-size", str(args.image_size), "--out", str(out), "--name", f"p{nproc}",
             "--quiet"]
    cmd = [sys.executable, *train] if nproc == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--master-addr",
        "127.0.0.1", "--master-port", str(free_port()), *train]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    run = out / f"p{nproc}"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return train_size(args) / statistics.median(r["time_s"] for r in rows[1:] or rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--model", default="lenet5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = images_per_second(1, args, Path(tmp))
        two = images_per_second(2, args, Path(tmp))
    print(f"{args.model}, global batch {args.batch_size}, image size {args.image_size}, {os.cpu_count()} CPUs")
    print(f"1 process : {one:9.0f} images/s (epoch time incl. validation)")
    print(f"2 processes: {two:9.0f} images/s")
    print(f"ratio 2p/1p: {two / one:.2f}")


if __name__ == "__main__":
    main()
