"""Benchmark: dlprimer.boxes.nms / batched_nms vs torchvision.ops on the CPU (float32 boxes).

Both run in the same process with the same torch thread count, after a warm-up; each cell is the median
of ``--repeats`` runs. Prints torchvision_time / our_time (> 1: we are faster). Kept sets are checked to
be identical before timing.

    python benchmarks/bench_nms.py            # 1k / 5k / 20k boxes, two box layouts
    python benchmarks/bench_nms.py --quick    # 1k / 5k only
"""

from __future__ import annotations

import argparse

import torch
import torchvision.ops as tvo
from _timing import median_time

from dlprimer.boxes import batched_nms, nms


def random_layout(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boxes spread uniformly over a 1000x1000 image, sides 10..110 px, 80 classes."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 1000
    wh = torch.rand(n, 2, generator=g) * 100 + 10
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g), torch.randint(0, 80, (n,), generator=g)


def clustered_layout(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Detector-like: proposals jittered around n/100 objects (most are suppressed), 80 classes."""
    g = torch.Generator().manual_seed(seed)
    k = max(1, n // 100)
    centre = torch.rand(k, 2, generator=g) * 1000
    size = torch.rand(k, 2, generator=g) * 150 + 20
    which = torch.randint(0, k, (n,), generator=g)
    c = centre[which] + torch.randn(n, 2, generator=g) * size[which] * 0.1
    s = size[which] * (1 + torch.randn(n, 2, generator=g) * 0.1).clamp(min=0.5)
    boxes = torch.cat([c - s / 2, c + s / 2], 1)
    return boxes, torch.rand(n, generator=g), torch.randint(0, 80, (k,), generator=g)[which]




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 1k and 5k boxes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for both (default 1: torchvision's CPU kernel is serial)"
    )
    parser.add_argument("--iou", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [1000, 5000] if args.quick else [1000, 5000, 20000]
    thr = args.iou
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, iou_threshold {args.iou}, "
        f"median of {args.repeats}"
    )
    header = f"{'op':<12} {'layout':<10} {'N':>6} {'kept':>6} {'torchvision ms':>15} {'ours ms':>9} {'tv/ours':>8}"
    print(header)
    print("-" * len(header))
    for layout_name, layout in (("random", random_layout), ("clustered", clustered_layout)):
        for n in sizes:
            boxes, scores, idxs = layout(n, seed=n)
            b, s, i = boxes, scores, idxs
            for op, ours, theirs in (
                ("nms", lambda b=b, s=s: nms(b, s, thr), lambda b=b, s=s: tvo.nms(b, s, thr)),
                (
                    "batched_nms",
                    lambda b=b, s=s, i=i: batched_nms(b, s, i, thr),
                    lambda b=b, s=s, i=i: tvo.batched_nms(b, s, i, thr),
                ),
            ):
                kept = ours()
                if not torch.equal(kept, theirs()):
                    raise SystemExit(f"{op} {layout_name} N={n}: kept sets differ from torchvision")
                t_tv = median_time(theirs, args.repeats)
                t_us = median_time(ours, args.repeats)
                print(
                    f"{op:<12} {layout_name:<10} {n:>6} {kept.numel():>6} {t_tv * 1e3:>15.2f} {t_us * 1e3:>9.2f} "
                    f"{t_tv / t_us:>8.2f}"
                )


if __name__ == "__main__":
    main()
