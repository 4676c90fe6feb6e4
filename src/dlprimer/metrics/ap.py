"""Average precision from a precision–recall curve, by every common rule, to show why tools disagree.

``average_precision(curve, method=...)`` takes the :class:`~dlprimer.metrics.pr_curve.PRCurve` that
:func:`~dlprimer.metrics.pr_curve.pr_curve` returns, or keywords ``recall=..., precision=...`` (recall
non-decreasing). Recall and precision are keyword-only: ``average_precision(precision, recall)`` (the
order ``pr_curve`` returns them) raises ``TypeError`` instead of computing a wrong number. The rules live in
:data:`AP_METHODS` (a :class:`dlprimer._registry.Registry` of ``fn(recall, precision) -> AP``):

* ``"step"``: non-interpolated ``Σ (R_n − R_{n−1})·P_n`` (``R_0 = 0``); equals scikit-learn's
  ``average_precision_score`` on a curve with tied scores grouped.
* ``"voc07"``: PASCAL VOC 2007 11-point: mean over ``r ∈ {0, 0.1, …, 1}`` of ``max(P[R >= r])``
  (0 when no point reaches ``r``); the notes' "11点插值".
* ``"voc"``: VOC 2010+ all-point: area under the precision envelope ``P̃(r) = max(P[R >= r])``, summed
  where recall changes (sentinels ``(0, 0)`` and ``(1, 0)``).
* ``"coco"``: 101-point as pycocotools: envelope, ``searchsorted(R, linspace(0, 1, 101), 'left')``,
  precision 0 past the last point, mean of the 101 values.
* ``"interp101"``: ultralytics' ``compute_ap``: sentinels ``(0, 1)`` and ``(1, 0)``, envelope,
  ``np.interp`` at 101 points and the trapezoid rule.

The notes (AP和mAP的理解) describe 11-point interpolation and COCO's average over IoU 0.50:0.05:0.95; COCO
additionally interpolates at 101 recall points per IoU (``"coco"``), and its mAP is the plain mean over
categories, not weighted by their share as the notes say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer._registry import Registry

__all__ = ["AP_METHODS", "average_precision"]


def _envelope(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """``p̃[i] = max(p[i:])`` (the monotone precision envelope)."""
    return np.maximum.accumulate(p[::-1])[::-1]


def _ap_step(r: NDArray, p: NDArray) -> float:
    return float(np.sum(np.diff(np.r_[0.0, r]) * p))


def _ap_voc07(r: NDArray, p: NDArray) -> float:
    ap = 0.0
    for t in np.arange(0.0, 1.1, 0.1):  # as the VOC devkit / py-faster-rcnn voc_eval
        reach = r >= t
        ap += (float(np.max(p[reach])) if reach.any() else 0.0) / 11.0
    return ap


def _ap_voc(r: NDArray, p: NDArray) -> float:
    mrec = np.r_[0.0, r, 1.0]
    mpre = _envelope(np.r_[0.0, p, 0.0])
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _ap_coco(r: NDArray, p: NDArray) -> float:
    rec_thr = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
    env = _envelope(p)
    idx = np.searchsorted(r, rec_thr, side="left")  # [101]
    q = np.where(idx < len(p), env[np.minimum(idx, max(len(p) - 1, 0))] if len(p) else 0.0, 0.0)
    return float(np.mean(q))


def _ap_interp101(r: NDArray, p: NDArray) -> float:
    mrec = np.r_[0.0, r, 1.0]
    mpre = _envelope(np.r_[1.0, p, 0.0])
    x = np.linspace(0, 1, 101)
    return float(np.trapezoid(np.interp(x, mrec, mpre), x))


#: name → ``fn(recall, precision) -> AP``
AP_METHODS: Registry[Callable[[NDArray, NDArray], float]] = Registry("AP method")
for _name, _fn in {
    "step": _ap_step,
    "voc07": _ap_voc07,
    "voc": _ap_voc,
    "coco": _ap_coco,
    "interp101": _ap_interp101,
}.items():
    AP_METHODS.add(_name, _fn)


def average_precision(
    curve: Any = None,
    /,
    *,
    recall: ArrayLike | None = None,
    precision: ArrayLike | None = None,
    method: str = "step",
) -> float:
    """AP of a PR curve: ``curve`` (a :class:`~dlprimer.metrics.pr_curve.PRCurve`, or any object with
    ``recall`` and ``precision`` attributes) or the keywords ``recall=`` and ``precision=`` (``[n]`` each,
    recall non-decreasing in [0, 1], precision in [0, 1]); not both.

    A non-increasing recall (scikit-learn's ``precision_recall_curve`` order, with its final
    ``(P=1, R=0)`` point) is flipped first; ``"step"`` then equals ``average_precision_score``.

    ``method`` is one of :data:`AP_METHODS` (see the module docstring for each formula). An empty curve
    gives 0.0; NaN recall (no positives) gives NaN.

    >>> from dlprimer.metrics import pr_curve
    >>> c = pr_curve([0.9, 0.8, 0.7], [1, 0, 1])
    >>> round(average_precision(c, method="voc07"), 4), round(average_precision(recall=c.recall,
    ...     precision=c.precision, method="voc07"), 4)
    (0.8485, 0.8485)
    """
    fn = AP_METHODS.get(method)
    if curve is not None:
        if recall is not None or precision is not None:
            raise TypeError("average_precision takes a curve or recall=/precision=, not both")
        if not (hasattr(curve, "recall") and hasattr(curve, "precision")):
            raise TypeError(
                "curve must be a PRCurve (with .recall and .precision), got "
                f"{type(curve).__name__}; pass arrays as average_precision(recall=..., precision=...)"
            )
        recall, precision = curve.recall, curve.precision
    elif recall is None or precision is None:
        raise TypeError("average_precision needs a curve or both recall= and precision=")
    r = np.asarray(recall, dtype=np.float64)
    p = np.asarray(precision, dtype=np.float64)
    if r.ndim != 1 or r.shape != p.shape:
        raise ValueError(f"recall and precision must be 1-D of equal length, got shapes {r.shape} and {p.shape}")
    if r.size == 0:
        return 0.0
    if np.isnan(r).any():
        return float("nan")
    if r.size > 1 and np.all(np.diff(r) <= 0) and r[0] > r[-1]:  # e.g. scikit-learn's curve: flip it
        r, p = r[::-1], p[::-1]
    if r.size and (np.any(np.diff(r) < 0) or r[0] < 0 or r[-1] > 1):
        raise ValueError("recall must be monotone within [0, 1] (points in order of score)")
    if np.any((p < 0) | (p > 1)) or np.isnan(p).any():
        raise ValueError("precision must lie in [0, 1]")
    return fn(r, p)
