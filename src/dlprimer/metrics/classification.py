"""Classification metrics from the notes' TP/FP/FN, precision, recall and F1 (NumPy only).

For class ``k`` with confusion matrix ``C[true, pred]``: ``TP_k = C[k, k]``, ``FP_k = Σ_i C[i, k] − TP_k``,
``FN_k = Σ_j C[k, j] − TP_k``; precision ``P = TP/(TP+FP)``, recall ``R = TP/(TP+FN)``,
``F1 = 2PR/(P+R)``. A ratio whose denominator is 0 takes ``zero_division`` (default 0.0, as scikit-learn).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


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
    c = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(c)
    precision = _safe_divide(tp, c.sum(axis=0), zero_division)
    recall = _safe_divide(tp, c.sum(axis=1), zero_division)
    f1 = _safe_divide(2 * tp, c.sum(axis=0) + c.sum(axis=1), zero_division)
    return {"precision": precision, "recall": recall, "f1": f1, "support": c.sum(axis=1)}


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of equal labels (0.0 for empty input)."""
    c = confusion_matrix(y_true, y_pred)
    total = c.sum()
    return float(np.trace(c) / total) if total else 0.0
