"""COCO segm evaluation: pycocotools vs faster-coco-eval vs dlprimer on seeded synthetic masks.

Data: ``N`` images of 640x480, 20 categories, about 7 ground truths (polygons; crowd regions as compressed
RLE) and 30 results (compressed RLE, as detectors write them) per image, built from
:func:`dlprimer.metrics.coco.synthetic.make_coco`'s boxes (ellipse-like polygons inside each box; RLEs made
with pycocotools' mask API), passed through ``json`` as if read from files.
Timed: pycocotools and faster-coco-eval ``evaluate + accumulate + summarize`` (their ``COCO()``/``loadRes``
not timed; their ``evaluate`` converts polygons to RLE); dlprimer ``evaluate(gt_dict, results_list)``
whole, including decoding every mask (its "load" phase). Best of ``--repeats`` (pycocotools: one run).
Stats are checked equal to pycocotools (1e-12) before timing is reported.

    python benchmarks/bench_coco_segm.py                # 2,000 images
    python benchmarks/bench_coco_segm.py --sizes 500
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from _coco_peers import best_time, time_faster_coco_eval, time_pycocotools

from dlprimer.metrics.coco import COCOEvaluator
from dlprimer.metrics.coco.synthetic import make_coco

W, H = 640, 480


def _polygon(rng: np.random.Generator, box: list[float]) -> list[float]:
    x, y, w, h = box
    k = int(rng.integers(6, 14))
    t = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = rng.uniform(0.7, 1.0, k)
    px = np.clip(x + w / 2 + r * np.cos(t) * w / 2, 0, W - 1)
    py = np.clip(y + h / 2 + r * np.sin(t) * h / 2, 0, H - 1)
    return np.round(np.stack([px, py], 1).reshape(-1), 2).tolist()


def make_segm(seed: int, n_images: int) -> tuple[dict, list]:
    from pycocotools import mask as mask_utils

    gt, dt = make_coco(seed, n_images=n_images, n_categories=20, gt_per_image=7, dt_per_image=30,
                       image_size=float(min(W, H)))  # fmt: skip
    rng = np.random.default_rng(seed)
    for im in gt["images"]:
        im["width"], im["height"] = W, H
    for a in gt["annotations"]:
        poly = [_polygon(rng, a["bbox"])]
        rle = mask_utils.merge(mask_utils.frPyObjects(poly, H, W))
        a["area"] = float(mask_utils.area(rle))
        if a["iscrowd"]:
            a["segmentation"] = {"counts": rle["counts"].decode(), "size": [H, W]}
        else:
            a["segmentation"] = poly
    for d in dt:
        rle = mask_utils.merge(mask_utils.frPyObjects([_polygon(rng, d["bbox"])], H, W))
        d["segmentation"] = {"counts": rle["counts"].decode(), "size": [H, W]}
        del d["bbox"]
    return gt, dt





def _ours(gt: dict, dt: list, repeats: int) -> tuple[float, np.ndarray, dict[str, float]]:
    phases: dict[str, float] = {}

    def run():
        t0 = time.perf_counter()
        ev = COCOEvaluator(gt, dt, "segm")
        t1 = time.perf_counter()
        ev.match()
        t2 = time.perf_counter()
        ev.accumulate()
        t3 = time.perf_counter()
        res = ev.summarize()
        t4 = time.perf_counter()
        for k, v in zip(
            ("load", "match", "accumulate", "summarize"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True
        ):
            phases[k] = min(phases.get(k, np.inf), v)
        return res.stats

    run()  # warm-up
    t, stats = best_time(run, repeats)
    return t, stats, phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000], help="numbers of images")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; numpy {np.__version__}")
    print(f"{'images':>7} {'dets':>7} {'pycocotools s':>14} {'faster-coco-eval s':>19} {'dlprimer s':>11}"
          f" {'pycoco/ours':>12} {'faster/ours':>12}  dlprimer phases (s)")  # fmt: skip
    for n in args.sizes:
        gt, dt = make_segm(args.seed, n)
        gt, dt = json.loads(json.dumps(gt)), json.loads(json.dumps(dt))
        t_ours, s_ours, ph = _ours(gt, dt, args.repeats)
        t_py, s_py = time_pycocotools(gt, dt, "segm", 1)
        fast = time_faster_coco_eval(gt, dt, "segm", args.repeats)
        assert np.allclose(s_ours, s_py, rtol=0, atol=1e-12), f"stats differ: {s_ours} vs {s_py}"
        t_fast = fast[0] if fast else float("nan")
        if fast and not np.allclose(s_ours, fast[1], rtol=0, atol=1e-9):
            print(f"note: faster-coco-eval's stats differ from pycocotools': {fast[1]}")
        phases = " ".join(f"{k}={v:.2f}" for k, v in ph.items())
        print(f"{n:>7} {len(dt):>7} {t_py:>14.2f} {t_fast:>19.2f} {t_ours:>11.2f}"
              f" {t_py / t_ours:>11.1f}x {t_fast / t_ours:>11.1f}x  {phases}", flush=True)  # fmt: skip
    print("stats equal to pycocotools (1e-12) in every run")


if __name__ == "__main__":
    main()
