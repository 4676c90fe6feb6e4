"""Plots of evaluation results (matplotlib, imported lazily): per-class PR curves and F1 vs confidence.

Both read a :class:`dlprimer.metrics.coco.COCOEvalResult`: the PR curve of class ``k`` at IoU ``t`` is
``precision[t, :, k, 0, -1]`` against the 101 recall thresholds; F1 vs confidence pairs
``F1(r) = 2·P(r)·r/(P(r)+r)`` with ``scores[t, r, k, 0, -1]``, the confidence at which recall ``r`` is
reached (pycocotools' ``scores`` array). The best-F1 point over all classes is marked.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from dlprimer._io import atomic_savefig

if TYPE_CHECKING:  # pragma: no cover
    from dlprimer.metrics.coco import COCOEvalResult

__all__ = ["coco_curves", "plot_coco_curves"]


def coco_curves(result: COCOEvalResult, iou: float = 0.5) -> dict[str, np.ndarray]:
    """Arrays behind the plots at IoU ``iou``: ``recall[R]``, ``precision[K, R]``, ``scores[K, R]``,
    ``f1[K, R]`` and ``valid[K]`` (class has ground truth); area range 0, largest cap."""
    t = np.flatnonzero(np.isclose(result.iou_thresholds, iou, rtol=0, atol=1e-9))
    if t.size == 0:
        raise ValueError(f"iou must be one of the evaluated thresholds {result.iou_thresholds.tolist()}, got {iou}")
    r = result.rec_thresholds
    p = result.precision[t[0], :, :, 0, -1].T  # [K, R]
    s = result.scores[t[0], :, :, 0, -1].T  # [K, R]
    valid = (p > -1).all(axis=1)
    pp = np.clip(p, 0, None)
    denom = pp + r[None, :]
    f1 = np.divide(2 * pp * r[None, :], denom, out=np.zeros_like(pp), where=denom > 0)
    return {"recall": r, "precision": p, "scores": s, "f1": f1, "valid": valid}


def plot_coco_curves(result: COCOEvalResult, path: str | os.PathLike[str], iou: float = 0.5) -> None:
    """Write a two-panel figure (PR curves, F1 vs confidence) to ``path`` (PNG/PDF/SVG by extension).

    Written atomically with the user's umask (:func:`dlprimer._io.atomic_savefig`).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    c = coco_curves(result, iou)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    names = result.category_names
    many = c["valid"].sum() > 12
    for k in np.flatnonzero(c["valid"]):
        kw = {"color": "0.7", "lw": 0.6} if many else {"lw": 1.2, "label": names[k]}
        ax1.plot(c["recall"], c["precision"][k], **kw)
        seen = c["scores"][k] > 0
        ax2.plot(c["scores"][k][seen], c["f1"][k][seen], **kw)
    if c["valid"].any():
        mean_p = c["precision"][c["valid"]].mean(axis=0)
        ax1.plot(c["recall"], mean_p, color="C3", lw=2.5, label=f"all classes, AP{int(iou * 100)}={mean_p.mean():.3f}")
        f1 = c["f1"][c["valid"]]
        k, j = np.unravel_index(np.argmax(f1), f1.shape)
        best_s = c["scores"][c["valid"]][k, j]
        ax2.plot([best_s], [f1[k, j]], "o", color="C3", label=f"best F1={f1[k, j]:.3f} at conf {best_s:.3f}")
    ax1.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=f"PR curves, IoU={iou:.2f}")
    ax2.set(xlabel="confidence", ylabel="F1", xlim=(0, 1), ylim=(0, 1.02), title="F1 vs confidence")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    try:
        atomic_savefig(fig, path, dpi=120)
    finally:
        plt.close(fig)
