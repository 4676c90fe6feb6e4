"""The one home of shared oracle helpers for tests: independent reference implementations we compare with.

* :func:`run_pycocotools` runs pycocotools' ``COCO``/``COCOeval`` (bbox, segm or keypoints) on deep copies
  (it mutates its inputs) with its printout captured;
* :func:`assert_same` compares two float arrays exactly (shape, dtype, values) with "ours vs theirs" at the
  first difference.

Imported by tests as ``from oracles import ...`` (``pythonpath = ["tests"]`` in pyproject's pytest section).
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np

__all__ = ["assert_same", "run_pycocotools"]


def run_pycocotools(gt: dict, dt: list | np.ndarray, iouType: str = "bbox", **params: Any) -> Any:  # noqa: N803
    """pycocotools' ``COCOeval`` on deep copies of ``gt`` and ``dt``, prints suppressed.

    ``params`` set ``COCOeval.params`` attributes (``iouThrs``, ``maxDets``, ``areaRng``, ``imgIds``,
    ``useCats``...). Returns the evaluator after ``evaluate``, ``accumulate`` and ``summarize``; the
    summary printout is stored as ``.printed``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        res = coco.loadRes(copy.deepcopy(dt))
        ev = COCOeval(coco, res, iouType)
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        start = len(out.getvalue())
        ev.summarize()
    ev.printed = out.getvalue()[start:]
    return ev


def assert_same(ours: np.ndarray, theirs: np.ndarray, what: str, tool: str = "pycocotools") -> None:
    """Exact equality of two float arrays, with a readable diff on failure."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape ours {ours.shape} vs {tool} {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype ours {ours.dtype} vs {tool} {theirs.dtype}"
    bad = np.argwhere(ours != theirs)
    assert bad.size == 0, (
        f"{what}: {len(bad)} entries differ, first at {tuple(bad[0])}: "
        f"ours {ours[tuple(bad[0])]!r} vs {tool} {theirs[tuple(bad[0])]!r}"
    )
