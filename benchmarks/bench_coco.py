"""COCO bbox evaluation: pycocotools vs faster-coco-eval vs dlprimer, on seeded synthetic data.

Data: ``N`` images, 80 categories, about 7 ground truths and 100 detections per image
(:func:`dlprimer.metrics.coco.synthetic.make_coco`, passed through ``json`` as if read from files).
Timed: pycocotools and faster-coco-eval
``evaluate + accumulate + summarize`` (their ``COCO()``/``loadRes`` not timed); dlprimer the whole
``evaluate(gt_dict, results_list)`` including turning the lists of dicts into arrays (reported apart as
"load"; the last ratio leaves it out, as the peers' timings leave out ``COCO()``/``loadRes``).
Best of ``--repeats`` runs after a warm-up (pycocotools: one run for N > 500, it is slow).
All stats are checked equal before timing is reported.

    python benchmarks/bench_coco.py             # 500 and 2,000 images (~2 min here)
    python benchmarks/bench_coco.py --quick     # 500 images
    python benchmarks/bench_coco.py --sizes 500 2000 5000
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


def _ours(gt: dict, dt: list, repeats: int) -> tuple[float, np.ndarray, dict[str, float]]:
    phases: dict[str, float] = {}

    def run():
        t0 = time.perf_counter()
        ev = COCOEvaluator(gt, dt)
        t1 = time.perf_counter()
        ev.match()
        t2 = time.perf_counter()
        ev.accumulate()
        t3 = time.perf_counter()
        res = ev.summarize()
        t4 = time.perf_counter()
        spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
        for k, v in zip(("load", "match", "accumulate", "summarize"), spans, strict=True):
            phases[k] = min(phases.get(k, np.inf), v)
        return res.stats

    run()  # warm-up
    t, stats = best_time(run, repeats)
    return t, stats, phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000], help="numbers of images")
    ap.add_argument("--quick", action="store_true", help="only 500 images")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = [500] if args.quick else args.sizes
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; numpy {np.__version__}")
    header = (
        f"{'images':>7} {'dets':>8} {'pycocotools s':>14} {'faster-coco-eval s':>19} {'dlprimer s':>11}"
        f" {'pycoco/ours':>12} {'faster/ours':>12} {'faster/ours(no load)':>21}  dlprimer phases (s)"
    )
    rows = []
    for n in sizes:
        gt, dt = make_coco(args.seed, n_images=n, n_categories=80, gt_per_image=7, dt_per_image=100)
        # as read from files: JSON-loaded records lie in memory in list order (the generator's shuffled
        # records do not, which makes every per-record walk several times slower for all tools)
        gt, dt = json.loads(json.dumps(gt)), json.loads(json.dumps(dt))
        t_ours, s_ours, ph = _ours(gt, dt, args.repeats)
        t_py, s_py = time_pycocotools(gt, dt, "bbox", 1 if n > 500 else args.repeats)
        fast = time_faster_coco_eval(gt, dt, "bbox", args.repeats)
        assert np.allclose(s_ours, s_py, rtol=0, atol=1e-12), f"stats differ: {s_ours} vs {s_py}"
        t_fast = fast[0] if fast else float("nan")
        if fast:
            assert np.allclose(s_ours, fast[1], rtol=0, atol=1e-9), f"faster-coco-eval differs: {fast[1]}"
        phases = " ".join(f"{k}={v:.2f}" for k, v in ph.items())
        core = ph["match"] + ph["accumulate"] + ph["summarize"]  # same footing as the peers: data loaded
        rows.append(
            f"{n:>7} {len(dt):>8} {t_py:>14.2f} {t_fast:>19.2f} {t_ours:>11.2f}"
            f" {t_py / t_ours:>11.1f}x {t_fast / t_ours:>11.1f}x {t_fast / core:>20.1f}x  {phases}"
        )
        print(rows[-1] if len(rows) > 1 else header + "\n" + rows[-1], flush=True)
    print("stats equal to pycocotools (1e-12) in every run")


if __name__ == "__main__":
    main()
