"""Detection confusion matrix with a background row and column (as ultralytics' ``ConfusionMatrix``).

Rows are the true class, columns the predicted class (the same orientation as
:func:`dlprimer.metrics.classification.confusion_matrix`); index ``K`` is *background*:
``C[g, K]`` counts ground truth of class ``g`` that no prediction matched (missed), ``C[K, p]`` predictions
of class ``p`` that matched no ground truth (false positives, "background predicted as p"), ``C[K, K]``
is always 0.

Matching per image, class-agnostic: predictions with ``score >= score_threshold``; pairs with
``IoU > iou_threshold``; pairs taken in order of decreasing IoU, each prediction and each ground truth
used at most once (ultralytics keeps, after sorting by IoU, the first pair of each prediction and then
the first pair of each ground truth, which is the same for all but rare chains of overlaps; this module
does the proper greedy one-to-one assignment). A matched pair counts ``C[g, p]``, so class confusions
show off the diagonal. Vectorized across images (pairs carry their image).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer._checks import is_int_like

__all__ = ["detection_confusion_matrix"]


def _iou_xyxy(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Elementwise IoU of paired ``xyxy`` boxes ``[P, 4]``."""
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _stack(items: Sequence[ArrayLike], name: str, width: int | None, dtype: type) -> tuple[NDArray, NDArray]:
    arrays = [np.asarray(x, dtype=dtype).reshape((-1, width) if width else (-1,)) for x in items]
    image = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
    flat = np.concatenate(arrays) if arrays else np.zeros((0, width) if width else (0,), dtype=dtype)
    if flat.size and not np.all(np.isfinite(flat)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return flat, image


def detection_confusion_matrix(
    gt_boxes: Sequence[ArrayLike],
    gt_labels: Sequence[ArrayLike],
    det_boxes: Sequence[ArrayLike],
    det_labels: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    num_classes: int,
    iou_threshold: float = 0.45,
    score_threshold: float = 0.25,
) -> NDArray[np.int64]:
    """Confusion matrix ``C[K+1, K+1]`` (int64) over a list of images.

    Args:
        gt_boxes, det_boxes: per image ``[n, 4]`` boxes ``xyxy`` (pixels).
        gt_labels, det_labels: per image ``[n]`` class indices in ``0..K-1``.
        det_scores: per image ``[n]`` confidences.
        iou_threshold: a pair matches if ``IoU > iou_threshold`` (ultralytics' default 0.45).
        score_threshold: predictions below it are dropped (default 0.25).
    """
    n_img = len(gt_boxes)
    for name, seq in (
        ("gt_labels", gt_labels),
        ("det_boxes", det_boxes),
        ("det_labels", det_labels),
        ("det_scores", det_scores),
    ):
        if len(seq) != n_img:
            raise ValueError(f"{name} must have one entry per image ({n_img}), got {len(seq)}")
    if not is_int_like(num_classes) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    K = int(num_classes)
    gb, gimg = _stack(gt_boxes, "gt_boxes", 4, np.float64)
    gl, _ = _stack(gt_labels, "gt_labels", None, np.int64)
    db, dimg = _stack(det_boxes, "det_boxes", 4, np.float64)
    dl, _ = _stack(det_labels, "det_labels", None, np.int64)
    ds, _ = _stack(det_scores, "det_scores", None, np.float64)
    if len(gl) != len(gb) or len(dl) != len(db) or len(ds) != len(db):
        raise ValueError("each image's labels/scores must have as many entries as its boxes")
    for name, lab in (("gt_labels", gl), ("det_labels", dl)):
        if lab.size and (lab.min() < 0 or lab.max() >= K):
            raise ValueError(f"{name} must lie in 0..{K - 1}, got values in [{lab.min()}, {lab.max()}]")
    keep = ds >= score_threshold
    db, dimg, dl = db[keep], dimg[keep], dl[keep]

    # all (gt, det) pairs within an image
    g_order = np.argsort(gimg, kind="stable")
    g_start = np.searchsorted(gimg[g_order], dimg, side="left")
    g_count = np.searchsorted(gimg[g_order], dimg, side="right") - g_start
    pd = np.repeat(np.arange(len(dimg)), g_count)  # [P]
    pg = g_order[np.repeat(g_start, g_count) + np.arange(len(pd)) - np.repeat(np.cumsum(g_count) - g_count, g_count)]
    iou = _iou_xyxy(gb[pg], db[pd]) if len(pd) else np.zeros(0)
    ok = iou > iou_threshold
    pd, pg, iou = pd[ok], pg[ok], iou[ok]
    order = np.argsort(-iou, kind="stable")
    pd, pg = pd[order], pg[order]
    g_used = np.zeros(len(gl), dtype=bool)
    d_used = np.zeros(len(dl), dtype=bool)
    match_g, match_d = [], []
    # Greedy by IoU: a pair is taken when both ends are free. Rounds: in each, the first pair of every
    # still-free detection whose ground truth is also that ground truth's first free pair is taken.
    while len(pd):
        free = ~g_used[pg] & ~d_used[pd]
        pd, pg = pd[free], pg[free]
        if not len(pd):
            break
        first_d = np.zeros(len(pd), dtype=bool)
        first_d[np.unique(pd, return_index=True)[1]] = True
        first_g = np.zeros(len(pd), dtype=bool)
        first_g[np.unique(pg, return_index=True)[1]] = True
        take = first_d & first_g
        match_g.append(pg[take])
        match_d.append(pd[take])
        g_used[pg[take]] = True
        d_used[pd[take]] = True
    mg = np.concatenate(match_g) if match_g else np.zeros(0, dtype=np.int64)
    md = np.concatenate(match_d) if match_d else np.zeros(0, dtype=np.int64)
    rows = np.concatenate([gl[mg], gl[~g_used], np.full((~d_used).sum(), K)])
    cols = np.concatenate([dl[md], np.full((~g_used).sum(), K), dl[~d_used]])
    return np.bincount(rows * (K + 1) + cols, minlength=(K + 1) ** 2).reshape(K + 1, K + 1).astype(np.int64)
