"""COCO bbox evaluation written per image, for reading: the rules of :mod:`.evaluator` in ~60 lines.

Slow (Python loops over images, categories, detections), exact (same float operations as pycocotools, so its
arrays equal pycocotools' bitwise) and used as a second oracle in the tests. The fast evaluator computes the
same thing vectorized over all images at once.

For each category ``k`` and image: sort detections by score (stable), keep the best ``max_dets[-1]``; for
each IoU threshold walk the detections in that order and let each take the free ground truth with the
largest IoU ``>= t`` (non-ignored ones first; crowd ground truths never become busy). A ground truth is
ignored when crowd or its ``area`` is outside the range; a detection is ignored when matched to an ignored
ground truth, or unmatched with its area (``w*h``) outside the range. Then, over all images of the category,
detections sorted by score give cumulative TP/FP counts, precision ``TP/(TP+FP)`` made non-increasing from
the right (the envelope) and read at the 101 recall points. (Notes, "AP和mAP的理解": mAP is the plain mean of
AP over categories with ground truth, not a weighted one.)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dlprimer.metrics.coco._params import STANDARD_AREAS, default_iou_thresholds, default_rec_thresholds

__all__ = ["evaluate_reference"]


def _iou(d: list[float], g: list[float], crowd: bool) -> float:
    """IoU of two xywh boxes; for a crowd ground truth, the fraction of the detection inside it."""
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if w <= 0 or h <= 0:
        return 0.0
    union = d[2] * d[3] if crowd else d[2] * d[3] + g[2] * g[3] - w * h
    return w * h / union


def evaluate_reference(
    gt: dict, dt: list[dict], max_dets: tuple[int, ...] = (1, 10, 100), area_ranges: dict | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``precision[T, R, K, A, M]`` and ``recall[T, K, A, M]`` for bbox results (default IoU/recall points)."""
    thr, rec_thr = default_iou_thresholds(), default_rec_thresholds()
    areas = list((area_ranges or STANDARD_AREAS).values())
    cats, imgs = sorted(c["id"] for c in gt["categories"]), sorted(i["id"] for i in gt["images"])
    T, R, K, A, M = len(thr), len(rec_thr), len(cats), len(areas), len(max_dets)
    precision, recall = -np.ones((T, R, K, A, M)), -np.ones((T, K, A, M))
    for k, cat in enumerate(cats):
        for a, (lo, hi) in enumerate(areas):
            per_image, n_gt = [], 0  # per image: (scores, tp [T, D], ignored [T, D]) of its kept detections
            for img in imgs:
                g = [x for x in gt["annotations"] if x["image_id"] == img and x["category_id"] == cat]
                g_ign = [bool(x.get("iscrowd", 0)) or not lo <= x["area"] <= hi for x in g]
                g = [g[j] for j in np.argsort(g_ign, kind="stable")]  # non-ignored ground truths first
                g_ign = sorted(g_ign)
                d = [x for x in dt if x["image_id"] == img and x["category_id"] == cat]
                d = [d[j] for j in np.argsort([-x["score"] for x in d], kind="stable")][: max_dets[-1]]
                tp, ign = np.zeros((T, len(d)), bool), np.zeros((T, len(d)), bool)
                for t, th in enumerate(np.minimum(thr, 1 - 1e-10)):
                    busy = [False] * len(g)
                    for i, det in enumerate(d):
                        best, m = th, -1
                        for j, gg in enumerate(g):
                            crowd = bool(gg.get("iscrowd", 0))
                            if (busy[j] and not crowd) or (m > -1 and not g_ign[m] and g_ign[j]):
                                continue  # taken, or already holding a non-ignored match
                            iou = _iou(det["bbox"], gg["bbox"], crowd)
                            if iou >= best:  # ">=": among equal IoUs the later ground truth wins
                                best, m = iou, j
                        if m > -1:
                            busy[m], tp[t, i], ign[t, i] = True, not g_ign[m], g_ign[m]
                        else:
                            ign[t, i] = not lo <= det["bbox"][2] * det["bbox"][3] <= hi
                per_image.append(([x["score"] for x in d], tp, ign))
                n_gt += g_ign.count(False)
            for m_i, cap in enumerate(max_dets):
                scores = np.concatenate([s[:cap] for s, _, _ in per_image])
                order = np.argsort(-scores, kind="mergesort")
                tps = np.concatenate([x[:, :cap] for _, x, _ in per_image], axis=1)[:, order]
                ign = np.concatenate([x[:, :cap] for _, _, x in per_image], axis=1)[:, order]
                if n_gt == 0:
                    continue
                tp_sum = np.cumsum(tps & ~ign, axis=1).astype(float)
                fp_sum = np.cumsum(~tps & ~ign, axis=1).astype(float)
                for t in range(T):
                    rc, pr = tp_sum[t] / n_gt, tp_sum[t] / (fp_sum[t] + tp_sum[t] + np.spacing(1))
                    recall[t, k, a, m_i] = rc[-1] if len(rc) else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1]  # the envelope
                    idx = np.searchsorted(rc, rec_thr, side="left")
                    precision[t, :, k, a, m_i] = np.where(idx < len(pr), pr[np.minimum(idx, len(pr) - 1)], 0)
    return precision, recall
