"""Phase 2 of COCO evaluation: precision/recall tables from matches, as pycocotools' ``accumulate``.

For a category ``k``, area range ``a``, detection cap ``m`` and IoU threshold ``t``, pycocotools takes the
detections of every image (each image's best ``m`` by score), sorts them by score with a stable mergesort
(ties keep image-id order, then input order), drops nothing but marks ignored detections (matched to an
ignored ground truth, or unmatched with area outside the range: neither TP nor FP, yet they keep their
place in the list), and forms ``rc = TP/npig`` and ``pr = TP/(TP+FP+eps)`` cumulatively. The precision
envelope ``pr[i] = max(pr[i:])`` is read at ``searchsorted(rc, recThrs, side='left')``; indices past the
end give 0. ``npig`` (non-ignored ground truths) of 0 gives -1 everywhere.

Vectorized identity used here: ``rc`` only grows at true positives, so the first index with ``rc >= r`` is
the position of the ``c``-th true positive, where ``c`` is the smallest integer with ``fl(c/npig) >= r``
(computed exactly); and the envelope at a true positive is the running maximum of ``pr`` over the later
true positives (a non-TP step never raises precision). So only true positives are needed, for all
categories and area ranges at once; the loops are over ``M`` caps and ``T`` thresholds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import Detections, GroundTruth
from dlprimer.metrics.coco._match import Matches
from dlprimer.metrics.coco._params import EvalParams

__all__ = ["MatchOutcomes", "RankedDetections", "Tables", "accumulate", "min_count_for_recall"]


@dataclass(frozen=True)
class RankedDetections:
    """The kept detections (``N``) in accumulation order: category, score descending, image, input order
    (pycocotools' stable mergesort of the concatenated per-image lists).

    ``cat[N]`` category index, ``score[N]``, ``rank[N]`` position within its (image, category) group by
    score (the cap ``m`` keeps ``rank < m``), ``outside[A, N]`` area outside range ``a`` (an unmatched
    detection there is ignored, not a false positive).
    """

    cat: NDArray[np.int64]
    score: NDArray[np.float64]
    rank: NDArray[np.int64]
    outside: NDArray[np.bool_]


@dataclass(frozen=True)
class MatchOutcomes:
    """What each match (event ``e``) made of its detection: at IoU threshold ``t[e]`` and area range ``a[e]``,
    detection ``n[e]`` (index into :class:`RankedDetections`) is a true positive (``tp[e]``), ignored
    (``ignored[e]``: matched to a crowd or out-of-range ground truth) or, if neither, a false positive."""

    t: NDArray[np.int64]
    a: NDArray[np.int64]
    n: NDArray[np.int64]
    tp: NDArray[np.bool_]
    ignored: NDArray[np.bool_]


@dataclass(frozen=True)
class Tables:
    """Phase 2's result: ``precision[T, R, K, A, M]``, ``recall[T, K, A, M]``, ``scores[T, R, K, A, M]``
    (the score at which each recall point is reached); -1 where the category has no ground truth."""

    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    scores: NDArray[np.float64]


def accumulate(gt: GroundTruth, dt: Detections, matches: Matches, params: EvalParams) -> Tables:
    """Phase 2: the matches of phase 1 → precision/recall tables (pycocotools' ``accumulate``).

    Steps: (1) order the kept detections as pycocotools accumulates them; (2) say what each match made of
    its detection (true positive / ignored); (3) count the non-ignored ground truths per category and area
    range; (4) build the tables (:func:`tables`).
    """
    mt, rng = matches, params.area_array  # [A, 2]
    # 1. accumulation order: category, score descending, image, input order (pycocotools' mergesort)
    d = mt.det_index
    order = np.lexsort((d, dt.img[d], -dt.score[d], dt.cat[d]))
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    d = d[order]
    area = dt.area[d]
    ranked = RankedDetections(
        dt.cat[d], dt.score[d], mt.rank[order], (area[None, :] < rng[:, :1]) | (area[None, :] > rng[:, 1:])
    )
    # 2. outcomes of the matches
    n = where[mt.det]
    g_ign = mt.gt_ignore[mt.a, mt.gt]  # matched to an ignored ground truth
    counts = np.ones(len(n), dtype=bool)
    if gt.ann_ids.dtype.kind in "iu" and bool(np.any(gt.ann_ids == 0)):
        if params.compat_gt_id_zero:
            counts = gt.ann_ids[mt.gt] != 0
        else:
            warnings.warn(
                "ground truth has an annotation with id 0: pycocotools counts detections matched to it "
                "as false positives; dlprimer counts them correctly (compat_gt_id_zero=True copies "
                "pycocotools)",
                UserWarning,
                stacklevel=4,
            )
    ignored = g_ign | (~counts & ranked.outside[mt.a, n])
    outcomes = MatchOutcomes(mt.t, mt.a, n, counts & ~ignored, ignored)
    # 3. non-ignored ground truths per category and area range
    K, A = len(gt.category_ids), len(rng)
    keep = ~mt.gt_ignore  # [A, G]
    npig = np.stack([np.bincount(gt.cat[keep[a]], minlength=K) for a in range(A)], axis=1)  # [K, A]
    # 4. the tables
    return tables(ranked, outcomes, npig, params)


def min_count_for_recall(npig: NDArray[np.int64], rec_thresholds: NDArray[np.float64]) -> NDArray[np.int64]:
    """Smallest integer ``c >= 0`` with ``float64(c / npig) >= r``, shape ``npig.shape + (R,)``.

    Exact (checked against the float division itself), so ``searchsorted(tp / npig, r, 'left')`` on a
    cumulative TP count equals the index of the ``c``-th true positive.
    """
    n = np.maximum(npig, 1).astype(np.float64)[..., None]  # [..., 1]
    r = rec_thresholds[None, :] if npig.ndim == 1 else rec_thresholds
    c = np.maximum(np.ceil(r * n), 0)  # [..., R] within ±1 of the answer
    while True:  # fl(c / n) is monotone in c, so each step moves toward the answer (one step in practice)
        down = (c > 0) & ((c - 1) / n >= r)
        up = c / n < r
        if not (down.any() or up.any()):
            return c.astype(np.int64)
        c = c - down + up


def _reverse_segment_max(values: NDArray[np.float64], seg: NDArray[np.int64], n_seg: int) -> NDArray:
    """``out[i] = max(values[j] for j >= i in the same segment)``; ``seg`` non-decreasing. Exact."""
    if values.size == 0:
        return values
    uniq, inv = np.unique(values, return_inverse=True)
    offset = (n_seg - seg).astype(np.int64) * len(uniq)  # later segments get smaller offsets
    key = offset + inv
    acc = np.maximum.accumulate(key[::-1])[::-1]
    return uniq[acc - offset]


def _segment_cumsum(x: NDArray, row: NDArray[np.int64]) -> NDArray:
    """Inclusive cumulative sum of ``x`` restarting at each new value of the sorted ``row``."""
    cs = np.cumsum(x)
    first = np.searchsorted(row, row, side="left")
    return cs - (cs[first] - x[first])


def tables(ranked: RankedDetections, outcomes: MatchOutcomes, npig: NDArray[np.int64], params: EvalParams) -> Tables:
    """Precision ``[T, R, K, A, M]``, recall ``[T, K, A, M]`` and scores ``[T, R, K, A, M]``.

    ``ranked`` in accumulation order; an unmatched detection is ignored in area range ``a`` iff
    ``ranked.outside[a, n]``, else a false positive; ``outcomes`` override that for matched ones.
    ``npig[K, A]`` counts non-ignored ground truths.
    """
    cat, score, rank, outside = ranked.cat, ranked.score, ranked.rank, ranked.outside
    ev_t, ev_a, ev_n, ev_tp, ev_ignored = outcomes.t, outcomes.a, outcomes.n, outcomes.tp, outcomes.ignored
    rec_thresholds, max_dets = params.rec_thresholds, np.asarray(params.max_dets, dtype=np.int64)
    T, (A, _), (K, R), M = (
        len(params.iou_thresholds),
        outside.shape,
        (npig.shape[0], len(rec_thresholds)),
        len(max_dets),
    )
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    scores = -np.ones((T, R, K, A, M))
    has_gt = (npig > 0).T[None, :, :]  # [1, A, K]
    c = min_count_for_recall(npig.reshape(-1), rec_thresholds).reshape(K, A, R).transpose(1, 0, 2)  # [A, K, R]
    c = c[None]  # [1, A, K, R]
    for m_i, m in enumerate(max_dets):
        keep = rank < m
        pos = np.cumsum(keep) - 1  # [N] position among the kept
        sel = np.flatnonzero(keep)
        cat_s, score_s = cat[sel], score[sel]  # [D]
        D = len(sel)
        cstart = np.searchsorted(cat_s, np.arange(K), side="left")  # [K]
        nd = np.searchsorted(cat_s, np.arange(K), side="right") - cstart  # [K]
        cum_out = np.zeros((A, D + 1), dtype=np.int64)
        np.cumsum(outside[:, sel], axis=1, out=cum_out[:, 1:])  # [A, D+1] ignored-if-unmatched counts

        e = np.flatnonzero(keep[ev_n])
        e_t, e_a, e_n = ev_t[e], ev_a[e], ev_n[e]
        e_p, e_k = pos[e_n], cat[e_n]
        order = np.argsort((e_t * A + e_a) * max(D, 1) + e_p, kind="stable")
        e_t, e_a, e_n, e_p, e_k = e_t[order], e_a[order], e_n[order], e_p[order], e_k[order]
        e_tp, e_ig = ev_tp[e][order], ev_ignored[e][order]
        row = (e_t * A + e_a) * K + e_k  # [E] sorted: (t, a, k), then position
        tp_c = _segment_cumsum(e_tp.astype(np.int64), row)
        # a match changes "ignored" from outside[a, n] to e_ig: running correction of the ignored count
        fix_c = _segment_cumsum(outside[e_a, e_n].astype(np.int64) - e_ig, row)
        # at true positives: TP and FP counts from the start of the category's list
        w = np.flatnonzero(e_tp)
        tp_n = tp_c[w]
        seen = e_p[w] - cstart[e_k[w]] + 1
        ign_n = cum_out[e_a[w], e_p[w] + 1] - cum_out[e_a[w], cstart[e_k[w]]] - fix_c[w]
        fp_n = seen - ign_n - tp_n
        tp_f, fp_f = tp_n.astype(np.float64), fp_n.astype(np.float64)
        pr = tp_f / (fp_f + tp_f + np.spacing(1))  # same operations as pycocotools
        r_w = row[w]
        env = _reverse_segment_max(pr, r_w, T * A * K)  # precision envelope at each true positive
        ntp = np.bincount(r_w, minlength=T * A * K).reshape(T, A, K)
        row_start = (np.cumsum(ntp.reshape(-1)) - ntp.reshape(-1)).reshape(T, A, K, 1)
        tp_pos = e_p[w]

        ntp4, nd4 = ntp[..., None], nd[None, None, :, None]
        in_range = (nd4 > 0) & (c <= ntp4)  # searchsorted index inside the list    [T, A, K, R]
        hit = in_range & ((c >= 1) | (ntp4 > 0))  # ...and the envelope there is > 0 possible
        idx = np.where(hit, row_start + np.maximum(c, 1) - 1, 0)
        q = np.where(hit, env[idx] if env.size else 0.0, 0.0)
        first = np.broadcast_to(cstart[None, None, :, None], idx.shape)
        at = np.where(c >= 1, tp_pos[idx] if tp_pos.size else 0, first)
        ss = np.where(in_range, score_s[np.where(in_range, at, 0)] if D else 0.0, 0.0)

        rec = np.where(nd[None, None, :] > 0, ntp / np.maximum(npig.T, 1)[None], 0.0)  # [T, A, K]
        precision[..., m_i] = np.where(has_gt[..., None], q, -1.0).transpose(0, 3, 2, 1)
        scores[..., m_i] = np.where(has_gt[..., None], ss, -1.0).transpose(0, 3, 2, 1)
        recall[..., m_i] = np.where(has_gt, rec, -1.0).transpose(0, 2, 1)
    return Tables(precision, recall, scores)
