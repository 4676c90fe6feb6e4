"""Precision–recall curves from scores and 0/1 labels, the best-F1 threshold, F1 vs confidence.

Notes ("PR曲线"): lowering the confidence threshold admits more predictions; each threshold gives one
(recall, precision) point, ``P = TP/(TP+FP)``, ``R = TP/(TP+FN)``. In detection, ``FN`` includes ground
truth that no prediction reached: ``num_positives`` counts all positives, scored or not.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer._checks import check_choice, check_int

__all__ = ["F1Confidence", "F1Threshold", "PRCurve", "best_f1_threshold", "f1_confidence_curve", "pr_curve"]

_TIES = ("group", "keep")


class PRCurve(NamedTuple):
    """Points in order of decreasing threshold (increasing recall). All float64 ``[n]``."""

    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    thresholds: NDArray[np.float64]


class F1Threshold(NamedTuple):
    """The best-F1 operating point of :func:`best_f1_threshold`."""

    threshold: float
    f1: float
    precision: float
    recall: float


class F1Confidence(NamedTuple):
    """F1, precision and recall at each confidence of ``grid`` (float64 ``[G]`` each)."""

    grid: NDArray[np.float64]
    f1: NDArray[np.float64]
    precision: NDArray[np.float64]
    recall: NDArray[np.float64]


def _scores_labels(scores: ArrayLike, labels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    s = np.asarray(scores, dtype=np.float64)
    lab = np.asarray(labels)
    if s.ndim != 1 or lab.ndim != 1 or s.shape != lab.shape:
        raise ValueError(f"scores and labels must be 1-D of equal length, got shapes {s.shape} and {lab.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite, got NaN or inf")
    if lab.size and not np.all((lab == 0) | (lab == 1)):
        raise ValueError(f"labels must be 0/1, got values {np.unique(lab)[:5].tolist()}")
    return s, lab.astype(bool)


def pr_curve(scores: ArrayLike, labels: ArrayLike, num_positives: int | None = None, ties: str = "group") -> PRCurve:
    """Precision–recall curve of ``scores[n]`` against ``labels[n]`` (1 = positive).

    Args:
        num_positives: all positives, including ones never scored (missed ground truth); default
            ``labels.sum()``; must be ``>= labels.sum()``. With 0 positives recall is NaN.
        ties: ``"group"``: one point per distinct score (a threshold cannot split tied scores;
            scikit-learn's ``precision_recall_curve``); ``"keep"``: one point per prediction in stable
            score order (pycocotools and VOC code do this).

    Returns:
        :class:`PRCurve` without sentinel points; empty input gives empty arrays.
    """
    check_choice(ties, "ties", _TIES)
    s, lab = _scores_labels(scores, labels)
    npos = int(lab.sum()) if num_positives is None else check_int(num_positives, "num_positives", low=0)
    if npos < lab.sum():
        raise ValueError(f"num_positives must be >= the number of positive labels ({int(lab.sum())}), got {npos}")
    order = np.argsort(-s, kind="mergesort")  # stable: ties keep input order
    s, lab = s[order], lab[order]
    tp = np.cumsum(lab).astype(np.float64)  # [n]
    fp = np.cumsum(~lab).astype(np.float64)
    if ties == "group" and s.size:
        last = np.r_[s[1:] != s[:-1], True]  # last index of each run of equal scores
        s, tp, fp = s[last], tp[last], fp[last]
    precision = tp / (tp + fp) if s.size else np.zeros(0)
    recall = tp / npos if npos > 0 else np.full(tp.shape, np.nan)
    return PRCurve(precision, recall, s)


def best_f1_threshold(
    scores: ArrayLike, labels: ArrayLike, num_positives: int | None = None
) -> F1Threshold:
    """:class:`F1Threshold` ``(threshold, f1, precision, recall)`` at the score threshold with the highest F1.

    Predictions with ``score >= threshold`` are positive. Among equal F1 the highest threshold wins.
    No predictions, or no positives, give ``(inf, 0.0, 0.0, 0.0)``.
    """
    c = pr_curve(scores, labels, num_positives, ties="group")
    if c.precision.size == 0 or not np.any(np.isfinite(c.recall)):
        return F1Threshold(float("inf"), 0.0, 0.0, 0.0)
    # F1 = 2TP / (n_pred + n_pos) from integer counts, so equal F1 compare equal (no rounding ties)
    s, lab = _scores_labels(scores, labels)
    npos = int(lab.sum()) if num_positives is None else check_int(num_positives, "num_positives", low=0)
    s_sorted = np.sort(s)[::-1]
    tp = np.cumsum(lab[np.argsort(-s, kind="mergesort")])  # [n] int
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # last index of each run of equal scores
    n_pred = np.flatnonzero(last) + 1  # [n_thr]
    tp = tp[last]
    num, den = 2 * tp, n_pred + npos  # F1 = num / den, den > 0
    best = int(np.argmax(num / den))  # fallback by float
    # first threshold whose F1 equals the maximum exactly (cross-multiplied integers)
    eq = num * den[best] == den * num[best]
    i = int(np.argmax(eq))
    f1 = float(num[i] / den[i]) if num[i] > 0 else 0.0
    return F1Threshold(float(c.thresholds[i]), f1, float(c.precision[i]), float(c.recall[i]))


def f1_confidence_curve(
    scores: ArrayLike, labels: ArrayLike, num_positives: int | None = None, grid: ArrayLike | None = None
) -> F1Confidence:
    """:class:`F1Confidence`: F1, precision and recall at each confidence in ``grid`` (default 101 points in [0, 1]).

    Returns ``(grid, f1, precision, recall)``; at a confidence above every score, precision is 1 and
    recall 0 (nothing predicted). Used by the F1-vs-confidence plot.
    """
    s, lab = _scores_labels(scores, labels)
    npos = int(lab.sum()) if num_positives is None else check_int(num_positives, "num_positives", low=0)
    g = np.linspace(0.0, 1.0, 101) if grid is None else np.asarray(grid, dtype=np.float64)
    s_sorted = np.sort(s)
    tp_by_rank = np.cumsum(lab[np.argsort(s, kind="mergesort")][::-1])[::-1]  # positives with score >= s_i
    n_above = s.size - np.searchsorted(s_sorted, g, side="left")  # predictions with score >= g   [G]
    first = s.size - n_above
    tp = np.where(n_above > 0, tp_by_rank[np.minimum(first, max(s.size - 1, 0))] if s.size else 0, 0)
    precision = np.where(n_above > 0, tp / np.maximum(n_above, 1), 1.0)
    recall = tp / npos if npos > 0 else np.zeros(g.shape)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return F1Confidence(g, f1, precision.astype(np.float64), recall.astype(np.float64))
