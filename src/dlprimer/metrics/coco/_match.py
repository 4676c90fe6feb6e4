"""Phase 1 of COCO evaluation: greedy matching of detections to ground truth, vectorized across images.

pycocotools' ``evaluateImg`` runs, for every (image, category, area range), a Python loop over detections
(sorted by score, stable, truncated to ``maxDets[-1]``) and ground truths; for each IoU threshold ``t`` a
detection takes, among the still-free ground truths (crowd ones never become busy) with
``IoU >= min(t, 1 - 1e-10)``, the non-ignored one with the largest IoU, and only if there is none an
ignored one (crowd, or area outside the range); among equal IoUs the *last* ground truth in input order
wins (its ``<`` comparison lets later equal values replace the current best).

Here the same greedy order is kept, but one step handles the r-th ranked detection of *every*
(image, category) group at once: groups never share ground truths, so they never interfere. The loop is
over ranks (at most ``max_det`` steps), everything inside is array code over [T, A, pairs].

Box IoU repeats pycocotools' C code (``maskApi.c: bbIou``) operation for operation so results are bitwise
equal: ``w = min(x_d+w_d, x_g+w_g) - max(x_d, x_g)``, the same for ``h``; 0 unless both are positive;
``union = area_d + area_g - inter`` with box areas ``w*h``, or ``union = area_d`` for crowd ground truth
(the fraction of the detection covered by the crowd region).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import Detections, GroundTruth

__all__ = ["Matches", "box_iou_coco", "match"]


def box_iou_coco(dt: NDArray[np.float64], gt: NDArray[np.float64], iscrowd: NDArray[np.bool_]) -> NDArray:
    """Elementwise IoU of paired xywh boxes ``dt[P, 4]`` and ``gt[P, 4]``, crowd rule as pycocotools."""
    w = np.minimum(dt[:, 2] + dt[:, 0], gt[:, 2] + gt[:, 0]) - np.maximum(dt[:, 0], gt[:, 0])  # [P]
    h = np.minimum(dt[:, 3] + dt[:, 1], gt[:, 3] + gt[:, 1]) - np.maximum(dt[:, 1], gt[:, 1])  # [P]
    inter = w * h
    da = dt[:, 2] * dt[:, 3]
    union = np.where(iscrowd, da, da + gt[:, 2] * gt[:, 3] - inter)
    ok = (w > 0) & (h > 0)
    out = np.zeros(len(dt))
    np.divide(inter, union, out=out, where=ok)
    return out


@dataclass(frozen=True)
class Matches:
    """Result of matching, sparse. ``N`` kept detections (rank < max_det), ``E`` matches (events) over
    all IoU thresholds ``T`` and area ranges ``A``; ``G`` ground truths (input order).

    ``det_index[N]`` index into the caller's detection list; ``rank[N]`` position within its
    (image, category) group after the stable sort by score; event ``e`` says: at threshold ``t[e]`` and
    area range ``a[e]``, kept detection ``det[e]`` matched ground truth ``gt[e]``; ``gt_ignore[A, G]``
    is crowd or area outside the range. A detection without an event is unmatched.
    """

    det_index: NDArray[np.int64]
    rank: NDArray[np.int64]
    t: NDArray[np.int64]
    a: NDArray[np.int64]
    det: NDArray[np.int64]
    gt: NDArray[np.int64]
    gt_ignore: NDArray[np.bool_]


_PAIR_CHUNK = 1 << 22  # pairs built per step: bounds memory on crowded images


PairIoU = Callable[[NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]


def _box_pairs(gt: GroundTruth, det: Detections) -> PairIoU:
    return lambda d, g: box_iou_coco(det.bbox[d], gt.bbox[g], gt.iscrowd[g])


def _group_pairs(
    gt: GroundTruth, det: Detections, max_det: int, min_iou: float, pair_iou: PairIoU
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Keep each group's ``max_det`` best detections; list the (detection, gt) pairs of a group with
    ``IoU >= min_iou`` (others can never match) and their IoU."""
    n_img = max(len(gt.image_ids), 1)
    gkey = gt.cat * n_img + gt.img  # [G]
    dkey = det.cat * n_img + det.img  # [D]
    d_order = np.lexsort((np.arange(len(dkey)), -det.score, dkey))  # [D] group, score desc, stable
    dkey_s = dkey[d_order]
    first = np.searchsorted(dkey_s, dkey_s, side="left")
    rank = np.arange(len(dkey_s)) - first  # [D]
    keep = rank < max_det
    det_index, rank = d_order[keep], rank[keep]  # [N]

    g_order = np.argsort(gkey, kind="stable")  # [G]
    gkey_s = gkey[g_order]
    g_start = np.searchsorted(gkey_s, dkey[det_index], side="left")  # [N]
    g_count = np.searchsorted(gkey_s, dkey[det_index], side="right") - g_start  # [N]
    ends = np.cumsum(g_count)  # [N] pairs up to and including each detection
    cuts = np.searchsorted(ends, np.arange(_PAIR_CHUNK, ends[-1] if len(ends) else 0, _PAIR_CHUNK), side="right")
    out_d, out_g, out_iou = [], [], []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(det_index)], strict=True):
        cnt = g_count[lo:hi]
        pair_det = np.repeat(np.arange(lo, hi), cnt)  # [P] index into kept detections
        within = np.arange(len(pair_det)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        pair_gt = g_order[np.repeat(g_start[lo:hi], cnt) + within]  # [P] index into gt
        iou = pair_iou(det_index[pair_det], pair_gt)  # [P]
        useful = iou >= min_iou
        out_d.append(pair_det[useful])
        out_g.append(pair_gt[useful])
        out_iou.append(iou[useful])
    if not out_d:
        empty = np.zeros(0, dtype=np.int64)
        return det_index, rank, empty, empty, np.zeros(0)
    return det_index, rank, np.concatenate(out_d), np.concatenate(out_g), np.concatenate(out_iou)


def match(
    gt: GroundTruth,
    det: Detections,
    iou_thresholds: NDArray[np.float64],
    area_ranges: NDArray[np.float64],
    max_det: int,
    pair_iou: PairIoU | None = None,
    ignore: NDArray[np.bool_] | None = None,
) -> Matches:
    """Greedy COCO matching for all images, categories, IoU thresholds ``[T]`` and area ranges ``[A, 2]``.

    ``pair_iou(det_rows, gt_rows)`` gives the IoU of paired detections and ground truths (default: boxes,
    :func:`box_iou_coco`; masks for ``iou_type="segm"``, OKS for ``"keypoints"``). ``ignore[G]`` marks ground
    truths ignored in every area range (default: the crowd ones; keypoints add those without visible
    keypoints); only crowd ground truths can absorb several detections.
    """
    T, A, G = len(iou_thresholds), len(area_ranges), len(gt.area)
    thr = np.minimum(iou_thresholds, 1 - 1e-10)  # [T] pycocotools' cap for t = 1
    pair_iou = _box_pairs(gt, det) if pair_iou is None else pair_iou
    det_index, rank, pair_det, pair_gt, iou = _group_pairs(
        gt, det, max_det, float(thr.min()) if T else np.inf, pair_iou
    )
    N = len(det_index)
    ignore = gt.iscrowd if ignore is None else ignore
    gt_ignore = (
        ignore[None, :] | (gt.area[None, :] < area_ranges[:, :1]) | (gt.area[None, :] > area_ranges[:, 1:])
    )  # [A, G]
    events: list[tuple[NDArray, ...]] = []
    empty = np.zeros(0, dtype=np.int64)
    if len(pair_det) == 0 or T == 0:
        return Matches(det_index, rank, empty, empty, empty, empty, gt_ignore)

    # Pairs ordered by (rank of the detection, detection): a step of the loop is one contiguous slice.
    seg_key = rank[pair_det] * max(N, 1) + pair_det  # [P]
    order = np.argsort(seg_key, kind="stable")
    pair_det, pair_gt, iou, seg_key = pair_det[order], pair_gt[order], iou[order], seg_key[order]
    P = len(pair_det)
    # Preference of a pair inside its detection, per area range: non-ignored first, then IoU, then the
    # later ground truth. prio[a, p] is p's position in that ordering; perm[a] inverts it.
    perm = np.empty((A, P), dtype=np.int64)
    prio = np.empty((A, P), dtype=np.int64)
    for a in range(A):  # A is small (4 by default)
        perm[a] = np.lexsort((pair_gt, iou, ~gt_ignore[a, pair_gt], seg_key))
        prio[a, perm[a]] = np.arange(P)

    avail = np.ones((T, A, G), dtype=bool)  # free ground truths
    pair_rank = rank[pair_det]
    steps = min(max_det, int(pair_rank[-1]) + 1)  # a huge cap (no cap) costs no empty steps
    bounds = np.searchsorted(pair_rank, np.arange(steps + 1), side="left")
    for r in range(steps):  # greedy order: the r-th best detection of every group at once
        lo, hi = bounds[r], bounds[r + 1]
        if lo == hi:
            continue
        p_gt = pair_gt[lo:hi]  # [Pr]
        starts = np.flatnonzero(np.r_[True, pair_det[lo + 1 : hi] != pair_det[lo : hi - 1]])  # [Dr]
        cand = (iou[lo:hi][None, None, :] >= thr[:, None, None]) & avail[:, :, p_gt]  # [T, A, Pr]
        score = np.where(cand, prio[None, :, lo:hi], -1)  # [T, A, Pr]
        best = np.maximum.reduceat(score, starts, axis=2)  # [T, A, Dr]
        t_i, a_i, s_i = np.nonzero(best >= 0)
        chosen = perm[a_i, best[t_i, a_i, s_i]]  # pair index
        g = pair_gt[chosen]
        events.append((t_i, a_i, pair_det[lo + starts[s_i]], g))
        busy = ~gt.iscrowd[g]  # crowd regions can absorb many detections
        avail[t_i[busy], a_i[busy], g[busy]] = False
    if not events:
        return Matches(det_index, rank, empty, empty, empty, empty, gt_ignore)
    t_e, a_e, d_e, g_e = (np.concatenate(col) for col in zip(*events, strict=True))
    return Matches(det_index, rank, t_e, a_e, d_e, g_e, gt_ignore)
