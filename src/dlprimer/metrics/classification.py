"""Classification metrics from the notes' TP/FP/FN, precision, recall and F1 (NumPy only).

For class ``k`` with confusion matrix ``C[true, pred]``: ``TP_k = C[k, k]``, ``FP_k = Σ_i C[i, k] − TP_k``,
``FN_k = Σ_j C[k, j] − TP_k``; precision ``P = TP/(TP+FP)``, recall ``R = TP/(TP+FN)``,
``F1 = 2PR/(P+R)``. A ratio whose denominator is 0 takes ``zero_division`` (default 0.0, as scikit-learn).

Averages over classes (:func:`precision_recall_f1`, registry :data:`AVERAGES`): the notes' macro
(精确率、召回率与F1: ``Macro-F1 = 2·P̄·R̄/(P̄+R̄)`` from the mean precision and mean recall; the notes call
Macro-R "宏查准率" by a slip, it is 宏查全率, macro recall), scikit-learn's mean of per-class F1 under the
separate name ``"macro_f1_mean"``, micro (pooled counts) and weighted (by support). The notes' identity
``F1 = 2TP/(N + TP − TN)`` (N all samples) holds: ``N + TP − TN = 2TP + FP + FN``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer._checks import check_int, is_float_like
from dlprimer._registry import Registry

__all__ = [
    "AVERAGES",
    "PRF",
    "accuracy",
    "confusion_matrix",
    "f1_score",
    "per_class_prf",
    "precision_recall_f1",
]


class PRF(NamedTuple):
    """Averaged precision, recall and F1 (floats)."""

    precision: float
    recall: float
    f1: float


def _labels(y: ArrayLike, name: str) -> NDArray[np.int64]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise TypeError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold non-negative class indices, got min {arr.min()}")
    return arr


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> NDArray[np.int64]:
    """Confusion matrix ``C[K, K]`` with rows = true class, columns = predicted class.

    ``num_classes`` defaults to ``max(y_true, y_pred) + 1``. Equals ``sklearn.metrics.confusion_matrix``
    with ``labels=range(K)``.
    """
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    if num_classes is not None:
        num_classes = check_int(num_classes, "num_classes", low=1)
    if num_classes is None and t.size == 0:
        raise ValueError("num_classes cannot be inferred from empty y_true and y_pred; pass num_classes")
    k = int(max(t.max(initial=-1), p.max(initial=-1)) + 1) if num_classes is None else int(num_classes)
    if k < 1:
        raise ValueError(f"num_classes must be ≥ 1, got {k}")
    if t.size and max(t.max(), p.max()) >= k:
        raise ValueError(f"labels must be < num_classes={k}, got max {max(t.max(), p.max())}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _safe_divide(num: NDArray, den: NDArray, zero_division: float) -> NDArray[np.float64]:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def per_class_prf(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None, zero_division: float = 0.0
) -> dict[str, NDArray]:
    """Per-class ``precision``, ``recall``, ``f1`` (float64 ``[K]``) and ``support`` (int ``[K]``).

    Equals ``sklearn.metrics.precision_recall_fscore_support(average=None, labels=range(K))``.
    """
    zero_division = _check_zero_division(zero_division)
    c = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(c)
    precision = _safe_divide(tp, c.sum(axis=0), zero_division)
    recall = _safe_divide(tp, c.sum(axis=1), zero_division)
    f1 = _safe_divide(2 * tp, c.sum(axis=0) + c.sum(axis=1), zero_division)
    return {"precision": precision, "recall": recall, "f1": f1, "support": c.sum(axis=1)}


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of equal labels (0.0 for empty input)."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    return float(np.mean(t == p)) if t.size else 0.0


# --------------------------------------------------------------------------------------------------
# Averages over classes. Each takes the confusion matrix ``C[K, K]`` and returns (precision, recall, f1).


def _mean(values: NDArray[np.float64], weights: NDArray | None, zero_division: float) -> float:
    """(Weighted) mean skipping NaN entries (``zero_division=nan``), as scikit-learn's ``_nanaverage``:
    all NaN gives NaN; if the remaining weights sum to 0 the plain mean of the remaining values is used."""
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan") if values.size else float(zero_division)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    if w is not None and w.sum() == 0:
        w = None
    return float(np.average(values[keep], weights=w))


def _macro_notes(c: NDArray[np.int64], zero_division: float) -> tuple[float, float, float]:
    """The notes' macro average: ``P̄ = mean P_k``, ``R̄ = mean R_k``, ``F1 = 2·P̄·R̄/(P̄+R̄)``."""
    prf = _prf_from_confusion(c, zero_division)
    p, r = _mean(prf["precision"], None, zero_division), _mean(prf["recall"], None, zero_division)
    f1 = 2 * p * r / (p + r) if p + r > 0 else float(zero_division)
    return p, r, f1


def _macro_f1_mean(c: NDArray[np.int64], zero_division: float) -> tuple[float, float, float]:
    """scikit-learn's ``average="macro"``: plain means of per-class P, R and F1."""
    prf = _prf_from_confusion(c, zero_division)
    return tuple(_mean(prf[k], None, zero_division) for k in ("precision", "recall", "f1"))  # type: ignore[return-value]


def _micro(c: NDArray[np.int64], zero_division: float) -> tuple[float, float, float]:
    """Pooled counts: ``P = ΣTP/ΣPred``, ``R = ΣTP/ΣTrue``, ``F1 = 2ΣTP/(ΣPred+ΣTrue)``."""
    tp, pred, true = np.trace(c), c.sum(axis=0).sum(), c.sum(axis=1).sum()
    sd = _safe_divide
    return (
        float(sd(tp, pred, zero_division)),
        float(sd(tp, true, zero_division)),
        float(sd(2 * tp, pred + true, zero_division)),
    )


def _weighted(c: NDArray[np.int64], zero_division: float) -> tuple[float, float, float]:
    """Support-weighted means of per-class P, R, F1 (scikit-learn's ``average="weighted"``)."""
    prf = _prf_from_confusion(c, zero_division)
    s = prf["support"]
    return tuple(_mean(prf[k], s, zero_division) for k in ("precision", "recall", "f1"))  # type: ignore[return-value]


#: Named averages. ``"macro"`` follows the notes (F1 of the mean P and mean R); ``"macro_f1_mean"`` is
#: scikit-learn's ``average="macro"`` (mean of per-class F1). The two differ whenever classes differ.
AVERAGES: Registry = Registry("average")
for _name, _fn in {
    "macro": _macro_notes,
    "macro_f1_mean": _macro_f1_mean,
    "micro": _micro,
    "weighted": _weighted,
}.items():
    AVERAGES.add(_name, _fn)


def _prf_from_confusion(c: NDArray[np.int64], zero_division: float) -> dict[str, NDArray]:
    tp = np.diag(c)
    return {
        "precision": _safe_divide(tp, c.sum(axis=0), zero_division),
        "recall": _safe_divide(tp, c.sum(axis=1), zero_division),
        "f1": _safe_divide(2 * tp, c.sum(axis=0) + c.sum(axis=1), zero_division),
        "support": c.sum(axis=1),
    }


def _check_zero_division(zero_division: float) -> float:
    if not is_float_like(zero_division):
        raise TypeError(f"zero_division must be 0.0, 1.0 or nan, got {type(zero_division).__name__} {zero_division!r}")
    z = float(zero_division)  # type: ignore[arg-type]
    if not (z in (0.0, 1.0) or np.isnan(z)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return z


def precision_recall_f1(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    average: str = "macro",
    num_classes: int | None = None,
    zero_division: float = 0.0,
) -> PRF:
    """Averaged :class:`PRF` ``(precision, recall, f1)`` over the classes ``0..K-1``.

    ``average`` is one of :data:`AVERAGES`: ``"macro"`` (the notes: ``Macro-F1 = 2·P̄·R̄/(P̄+R̄)``),
    ``"macro_f1_mean"`` (scikit-learn's macro: mean of per-class F1), ``"micro"`` (pooled counts; equals
    accuracy when every sample has one label) or ``"weighted"`` (per-class values weighted by support).

    Zero division: a per-class ratio with denominator 0 (a class never predicted has no precision, a
    class absent from ``y_true`` no recall) takes ``zero_division`` (0.0, 1.0, or nan: nan classes are
    left out of the means, as scikit-learn). The notes' Macro-F1 with ``P̄ + R̄ = 0`` also takes it.
    Classes: with ``num_classes=K`` all of ``0..K-1`` count, even ones absent from both arrays
    (scikit-learn's ``labels=range(K)``); with ``num_classes=None`` only classes occurring in ``y_true``
    or ``y_pred`` (scikit-learn's default ``labels=None``).
    """
    combine = AVERAGES.get(average)
    z = _check_zero_division(zero_division)
    c = confusion_matrix(y_true, y_pred, num_classes)
    if num_classes is None:  # as scikit-learn's labels=None: the classes that occur in either array
        present = (c.sum(axis=0) + c.sum(axis=1)) > 0
        c = c[np.ix_(present, present)]
    return PRF(*combine(c, z))


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    average: str = "macro",
    num_classes: int | None = None,
    zero_division: float = 0.0,
) -> float:
    """The F1 of :func:`precision_recall_f1` (``average="macro"`` is the notes' Macro-F1)."""
    return precision_recall_f1(y_true, y_pred, average, num_classes, zero_division).f1
