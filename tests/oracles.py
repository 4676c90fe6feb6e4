"""The one home of shared oracle helpers for tests: independent reference implementations we compare with.

* :func:`run_pycocotools` runs pycocotools' ``COCO``/``COCOeval`` (bbox, segm or keypoints) on deep copies
  (it mutates its inputs) with its printout captured;
* :func:`make_segm_coco` builds seeded segmentation data with pycocotools' own mask API;
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

__all__ = ["assert_same", "make_segm_coco", "polygon", "run_pycocotools"]


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


def polygon(rng: np.random.Generator, w: float, h: float, k: int | None = None) -> list[float]:
    """A random polygon ``[x0, y0, ...]`` around the image (may leave it; vertices sometimes integral)."""
    k = int(rng.integers(3, 9)) if k is None else k
    cx, cy = rng.uniform(-5, w + 5), rng.uniform(-5, h + 5)
    pts = np.stack([cx + rng.normal(0, w / 4, k), cy + rng.normal(0, h / 4, k)], 1)
    if rng.random() < 0.3:
        pts = np.round(pts)  # vertices on pixel corners: the rounding rules matter
    return pts.reshape(-1).tolist()


def make_segm_coco(seed: int, box_results: bool = False) -> tuple[dict, list]:
    """Seeded segm data built with pycocotools' mask API: polygon ground truth, crowd regions as
    uncompressed RLE, results as compressed RLE (with their ``bbox`` when ``box_results``)."""
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "height": int(rng.integers(30, 80)), "width": int(rng.integers(30, 80))} for i in range(8)]
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    anns, dets = [], []
    for im in images:
        h, w = im["height"], im["width"]
        for _ in range(int(rng.integers(0, 5))):
            crowd = rng.random() < 0.15
            poly = [polygon(rng, w, h)]
            m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, h, w)))
            if crowd:  # crowd regions come as uncompressed RLE
                flat = m.T.reshape(-1)  # column-major, runs start with zeros
                runs = np.diff(np.r_[0, np.flatnonzero(flat[1:] != flat[:-1]) + 1, flat.size])
                counts = ([0] if flat[0] else []) + runs.tolist()
                segm = {"counts": counts, "size": [h, w]}
            else:
                segm = poly
            bbox = list(mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m))).tolist())
            area = float(m.sum()) * (rng.uniform(0.8, 1.0) if rng.random() < 0.3 else 1.0)
            anns.append({"image_id": im["id"], "category_id": int(rng.integers(1, 3)), "segmentation": segm,
                         "bbox": bbox, "area": area, "iscrowd": int(crowd)})  # fmt: skip
            for _ in range(int(rng.integers(0, 4))):  # detections near this object
                jitter = [(np.asarray(p) + rng.normal(0, 1.5, len(p))).tolist() for p in poly]
                dets.append((im, jitter, anns[-1]["category_id"]))
        for _ in range(int(rng.integers(0, 4))):  # detections on nothing
            dets.append((im, [polygon(rng, w, h)], int(rng.integers(1, 3))))
    for i, a in enumerate(anns):
        a["id"] = i + 1
    results = []
    for im, poly, cat in dets:
        rle = mask_utils.merge(mask_utils.frPyObjects(poly, im["height"], im["width"]))
        rec = {"image_id": im["id"], "category_id": cat, "score": float(np.round(rng.random(), 1)),
               "segmentation": {"counts": rle["counts"].decode(), "size": rle["size"]}}  # fmt: skip
        if box_results:
            rec["bbox"] = mask_utils.toBbox(rle).tolist()
        results.append(rec)
    return {"images": images, "categories": cats, "annotations": anns}, results
