"""The COCO evaluators dlprimer is compared with, timed the same way by every COCO benchmark (run as
``python benchmarks/bench_coco*.py``, which puts this folder on ``sys.path``)."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import time
import warnings
from collections.abc import Callable

import numpy as np


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """``(fastest wall time in seconds of `repeats` calls, the last call's result)``."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def time_pycocotools(gt: dict, dt: list, iou_type: str, repeats: int) -> tuple[float, np.ndarray]:
    """pycocotools' evaluate + accumulate + summarize (loading untimed): ``(best time, stats)``."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        res = coco.loadRes(copy.deepcopy(dt))

        def run() -> np.ndarray:
            ev = COCOeval(coco, res, iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            return ev.stats

        return best_time(run, repeats)


def time_faster_coco_eval(gt: dict, dt: list, iou_type: str, repeats: int) -> tuple[float, np.ndarray] | None:
    """faster-coco-eval's evaluate + accumulate + summarize on fresh copies each run (its evaluate converts
    polygons in place; loading untimed): ``(best time, stats)``, or ``None`` when it is not installed."""
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError:
        return None
    logging.getLogger("faster_coco_eval").setLevel(logging.ERROR)

    def run() -> tuple[float, np.ndarray]:
        coco = COCO(copy.deepcopy(gt))
        res = coco.loadRes(copy.deepcopy(dt))
        t0 = time.perf_counter()
        ev = COCOeval_faster(coco, res, iou_type, print_function=lambda *a, **k: None)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return time.perf_counter() - t0, ev.stats

    runs = [run() for _ in range(repeats)]
    return min(r[0] for r in runs), runs[-1][1]
