"""Benchmark: a detection augmentation pipeline, dlprimer.augment vs torchvision.transforms.v2 (and albumentations).

Pipeline (the same work in each library, per image with boxes and labels):
random scale 0.8-1.2 -> random crop of area 0.6-1 (aspect 3/4-4/3) resized to 224 x 224 -> horizontal flip
(p = 0.5) -> colour jitter (brightness, contrast, saturation 0.4, hue 0.1, random order) -> random erasing
(p = 0.5, constant 0) -> drop degenerate boxes.

Images are uint8 RGB ``[3, 256, 256]`` (a pool of 64 distinct random images cycled to ``--n`` transforms),
8 boxes each. One thread (as in a DataLoader worker; OpenCV limited to it too), a warm-up pass, then
``--repeats`` rounds in which the libraries take turns; the best time of each is reported.

    python benchmarks/bench_augment.py            # 2,000 images
    python benchmarks/bench_augment.py --quick    # 300 images
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch


def make_pool(k: int, size: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    pool = []
    for _ in range(k):
        img = torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)
        xy = torch.rand(8, 2, 2, generator=g) * size
        boxes = torch.cat([xy.amin(1), xy.amax(1) + 2], 1).clamp(0, size)
        pool.append({"image": img, "boxes": boxes, "labels": torch.arange(8)})
    return pool


def ours_pipeline():
    from dlprimer import augment as A

    t = A.Compose([
        A.RandomScale((0.8, 1.2)),
        A.RandomCrop(area=(0.6, 1.0), aspect=(3 / 4, 4 / 3)),
        A.Resize((224, 224)),
        A.RandomHorizontalFlip(0.5),
        A.ColorJitter(0.4, 0.4, 0.4, 0.1),
        A.RandomErasing(p=0.5, value=0.0),
    ])
    g = torch.Generator().manual_seed(0)
    return lambda s: t(s, g)


def tv_pipeline():
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    t = v2.Compose([
        v2.RandomResize(int(0.8 * 256), int(1.2 * 256)),
        v2.RandomResizedCrop((224, 224), scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
        v2.RandomHorizontalFlip(0.5),
        v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
        v2.RandomErasing(p=0.5, value=0),
        v2.SanitizeBoundingBoxes(min_size=1.0),
    ])

    def run(s: dict) -> dict:
        h, w = s["image"].shape[-2:]
        return t({"image": tv_tensors.Image(s["image"]),
                  "boxes": tv_tensors.BoundingBoxes(s["boxes"], format="XYXY", canvas_size=(h, w)),
                  "labels": s["labels"]})

    return run


def albumentations_pipeline():
    import albumentations as alb
    import numpy as np

    t = alb.Compose([
        alb.RandomScale(scale_limit=0.2, p=1.0),
        alb.RandomResizedCrop(size=(224, 224), scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3), p=1.0),
        alb.HorizontalFlip(p=0.5),
        alb.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0),
        alb.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(0.1, 0.5), hole_width_range=(0.1, 0.5),
                          fill=0, p=0.5),
    ], bbox_params=alb.BboxParams(format="pascal_voc", label_fields=["labels"], min_visibility=0.25, min_area=1.0))

    def run(s: dict) -> dict:
        # albumentations works on HWC NumPy arrays: the conversion is part of using it from torch
        out = t(image=np.ascontiguousarray(s["image"].permute(1, 2, 0).numpy()), bboxes=s["boxes"].numpy(),
                labels=s["labels"].numpy())
        return {"image": torch.from_numpy(out["image"]).permute(2, 0, 1)}

    return run


def time_once(fn, pool: list[dict], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(pool[i % len(pool)])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="images per run")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="300 images, 2 repeats")
    args = ap.parse_args()
    if args.quick:
        args.n, args.repeats = 300, 2
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=r"RandomErasing\(\) is currently passing through")
    pool = make_pool(64, args.size)
    pipelines = {"dlprimer.augment": ours_pipeline(), "torchvision.transforms.v2": tv_pipeline()}
    try:
        import cv2

        cv2.setNumThreads(args.threads)  # OpenCV would otherwise use every core
        pipelines["albumentations"] = albumentations_pipeline()
    except ImportError:
        print("(albumentations not installed: skipped)")
    for fn in pipelines.values():  # warm-up
        time_once(fn, pool, 32)
    best = dict.fromkeys(pipelines, float("inf"))
    for _ in range(args.repeats):  # interleaved, so that a busy machine slows every library alike
        for name, fn in pipelines.items():
            best[name] = min(best[name], time_once(fn, pool, args.n))
    rows = [(name, args.n / t) for name, t in best.items()]
    ours = rows[0][1]
    print(f"\ndetection pipeline, {args.n} images {args.size}x{args.size} uint8, {args.threads} thread(s), "
          f"best of {args.repeats}")
    print(f"{'library':<28}{'img/s':>10}{'ours / peer (speed ratio)':>30}")
    for name, ips in rows:
        print(f"{name:<28}{ips:>10.1f}{ours / ips:>30.2f}")
    print("ratio = our img/s / peer img/s = peer_time / our_time (>= 1: we are at least as fast)")


if __name__ == "__main__":
    main()
