"""``MeanAveragePrecision.compute()``: torchmetrics (pycocotools backend) vs dlprimer, same updates, one run.

Data: ``N`` images in batches of 16, 80 classes, about 7 targets and 100 predictions per image
(:func:`dlprimer.metrics.coco.synthetic.make_coco` as float32 xyxy tensors). Timed: ``update`` for all
batches and ``compute()`` apart, with and without ``class_metrics``. Results are checked equal first.

    python benchmarks/bench_coco_map.py               # 5,000 images
    python benchmarks/bench_coco_map.py --images 1000
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch

from dlprimer.metrics.coco import MeanAveragePrecision
from dlprimer.metrics.coco.synthetic import make_coco


def batches(n_images: int, seed: int = 0) -> list[tuple[list[dict], list[dict]]]:
    gt, dt = make_coco(seed, n_images=n_images, n_categories=80, gt_per_image=7, dt_per_image=100)
    ids = sorted(im["id"] for im in gt["images"])
    by_gt: dict = {i: [] for i in ids}
    by_dt: dict = {i: [] for i in ids}
    for a in gt["annotations"]:
        by_gt[a["image_id"]].append(a)
    for d in dt:
        by_dt[d["image_id"]].append(d)

    def xyxy(recs: list[dict]) -> torch.Tensor:
        b = np.array([r["bbox"] for r in recs], dtype=np.float64).reshape(-1, 4)
        b[:, 2:] += b[:, :2]
        return torch.tensor(b, dtype=torch.float32)

    out = []
    for s in range(0, len(ids), 16):
        preds, target = [], []
        for i in ids[s : s + 16]:
            g, d = by_gt[i], by_dt[i]
            target.append({"boxes": xyxy(g), "labels": torch.tensor([a["category_id"] for a in g], dtype=torch.long),
                           "iscrowd": torch.tensor([a["iscrowd"] for a in g], dtype=torch.long)})  # fmt: skip
            preds.append({"boxes": xyxy(d), "labels": torch.tensor([r["category_id"] for r in d], dtype=torch.long),
                          "scores": torch.tensor([r["score"] for r in d], dtype=torch.float32)})  # fmt: skip
        out.append((preds, target))
    return out


def run(metric, data) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    for preds, target in data:
        metric.update(preds, target)
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = metric.compute()
    return t1 - t0, time.perf_counter() - t1, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--class-metrics", choices=["off", "on", "both"], default="both",
                    help="torchmetrics re-runs pycocotools per class: 'on' is slow at 5,000 images")  # fmt: skip
    args = ap.parse_args()
    from torchmetrics.detection import MeanAveragePrecision as TorchmetricsMAP

    torch.set_num_threads(1)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; torch threads 1")
    data = batches(args.images)
    print(f"{'class_metrics':>13} {'tm update s':>12} {'tm compute s':>13} {'ours update s':>14} {'ours compute s':>15}"
          f" {'compute ratio':>14}")  # fmt: skip
    for class_metrics in {"off": (False,), "on": (True,), "both": (False, True)}[args.class_metrics]:
        theirs = TorchmetricsMAP(backend="pycocotools", class_metrics=class_metrics)
        theirs.warn_on_many_detections = False
        u_t, c_t, r_t = run(theirs, data)
        u_o, c_o, r_o = run(MeanAveragePrecision(class_metrics=class_metrics), data)
        for k in r_t:
            assert torch.equal(r_t[k], r_o[k]), f"{k}: torchmetrics {r_t[k]} vs ours {r_o[k]}"
        print(
            f"{class_metrics!s:>13} {u_t:>12.2f} {c_t:>13.2f} {u_o:>14.2f} {c_o:>15.2f} {c_t / c_o:>13.1f}x", flush=True
        )
    print("results equal (torch.equal) in every run")


if __name__ == "__main__":
    main()
