"""Benchmark: dlprimer.boxes.roi_align (forward, and forward + backward) vs torchvision.ops.roi_align, CPU.

Feature map 2x256x50x50 (stride 16 of an 800x800 image), 256 / 1024 ROIs of 16..416 px, output 7x7,
adaptive sampling, aligned=True. Same torch thread count for both, warm-up, median of ``--repeats``.
Prints torchvision_time / our_time (> 1: we are faster). Outputs are checked to agree first.

    python benchmarks/bench_roi_align.py [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse

import torch
import torchvision.ops as tvo
from _timing import median_time

from dlprimer.boxes import roi_align


def make_rois(k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(k, 2, generator=g) * 700
    wh = torch.rand(k, 2, generator=g) * 400 + 16
    idx = torch.randint(0, 2, (k, 1), generator=g).float()
    return torch.cat([idx, xy, (xy + wh).clamp(max=800)], 1)




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 256 ROIs, forward only")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for both (default 1: torchvision's CPU kernel is serial)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(2, 256, 50, 50, generator=torch.Generator().manual_seed(0))
    kw = dict(output_size=7, spatial_scale=1 / 16, sampling_ratio=-1, aligned=True)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, input {tuple(x.shape)}, "
        f"median of {args.repeats}"
    )
    header = f"{'pass':<18} {'rois':>5} {'torchvision ms':>15} {'ours ms':>9} {'tv/ours':>8}"
    print(header)
    print("-" * len(header))
    xg = x.clone().requires_grad_()
    for k in [256] if args.quick else [256, 1024]:
        rois = make_rois(k, seed=k)
        err = (roi_align(x, rois, **kw) - tvo.roi_align(x, rois, **kw)).abs().max().item()
        if err > 1e-4:
            raise SystemExit(f"outputs differ from torchvision by {err}")
        passes = [("forward", lambda f, r=rois: f(x, r, **kw))]
        if not args.quick:
            passes.append(("forward+backward", lambda f, r=rois: f(xg, r, **kw).sum().backward()))
        for name, run in passes:
            t_tv = median_time(lambda run=run: run(tvo.roi_align), args.repeats)
            t_us = median_time(lambda run=run: run(roi_align), args.repeats)
            print(f"{name:<18} {k:>5} {t_tv * 1e3:>15.2f} {t_us * 1e3:>9.2f} {t_tv / t_us:>8.2f}")


if __name__ == "__main__":
    main()
