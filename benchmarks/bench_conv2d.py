"""Benchmark: scratch ``conv2d`` (im2col + one GEMM; col2im by kernel offsets) vs torch on the CPU.

Forward + backward (input and weight gradients) on ResNet-like shapes, float32 and float64, same thread
count for NumPy's BLAS and torch (set before either is imported), warm-up then the median of ``--repeats``
runs. Prints ``torch_time / scratch_time`` (higher is better for us; 1.0 = as fast as torch).

Usage: ``python benchmarks/bench_conv2d.py [--threads 2] [--repeats 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import Any

from _timing import median_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="batch 8 instead of 32")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    import torch.nn.functional as TF

    from dlprimer.scratch import Tensor
    from dlprimer.scratch import functional as F

    torch.set_num_threads(args.threads)
    n = 8 if args.quick else 32
    configs = [  # (N, C_in, H, C_out, k, stride, padding)
        (n, 64, 28, 64, 3, 1, 1),
        (n, 64, 28, 128, 3, 2, 1),
        (n, 128, 14, 128, 3, 1, 1),
        (n, 64, 28, 256, 1, 1, 0),
    ]

    print(f"conv2d forward+backward, {args.threads} thread(s), median of {args.repeats}; numpy {np.__version__}, "
          f"torch {torch.__version__}")
    print(f"{'dtype':8s} {'N,C,H,Co,k,s':22s} {'scratch ms':>11s} {'torch ms':>9s} {'torch/scratch':>14s}")
    rng = np.random.default_rng(0)
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        for nb, c, h, co, k, s, p in configs:
            x = rng.standard_normal((nb, c, h, h)).astype(dtype)
            w = (rng.standard_normal((co, c, k, k)) * 0.05).astype(dtype)
            b = rng.standard_normal(co).astype(dtype)
            ho = (h + 2 * p - k) // s + 1
            g = rng.standard_normal((nb, co, ho, ho)).astype(dtype)
            ours = functools.partial(_scratch_step, F, Tensor, x, w, b, s, p, g)
            tensors = [torch.tensor(a, dtype=tdtype, requires_grad=True) for a in (x, w, b)]
            theirs = functools.partial(_torch_step, TF, tensors, s, p, torch.tensor(g))
            t_ours, t_theirs = median_time(ours, args.repeats), median_time(theirs, args.repeats)
            label = f"{nb},{c},{h},{co},{k},{s}"
            print(f"{np.dtype(dtype).name:8s} {label:22s} {t_ours * 1e3:11.1f} {t_theirs * 1e3:9.1f} "
                  f"{t_theirs / t_ours:14.2f}", flush=True)




def _scratch_step(F: Any, Tensor: Any, x: Any, w: Any, b: Any, s: int, p: int, g: Any) -> None:  # noqa: N803
    xt, wt, bt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
    F.conv2d(xt, wt, bt, stride=s, padding=p).backward(g)


def _torch_step(TF: Any, tensors: list[Any], s: int, p: int, tg: Any) -> None:  # noqa: N803
    tx, tw, tb = tensors
    tx.grad = tw.grad = tb.grad = None
    TF.conv2d(tx, tw, tb, stride=s, padding=p).backward(tg)


if __name__ == "__main__":
    main()
