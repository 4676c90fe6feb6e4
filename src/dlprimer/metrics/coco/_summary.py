"""Phase 3 of COCO evaluation: the standard numbers, per-class and per-area tables, pycocotools' text."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["STANDARD_AREAS", "mean_valid", "per_class_table", "stats_and_summary"]

STANDARD_AREAS: dict[str, tuple[float, float]] = {
    "all": (0.0**2, 1e5**2),
    "small": (0.0**2, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}

_LINE = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"


def mean_valid(s: NDArray[np.float64]) -> float:
    """Mean of the entries ``> -1`` (C order, as pycocotools' ``np.mean(s[s > -1])``); -1 if none."""
    valid = s[s > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def _iou_index(iou_thresholds: NDArray[np.float64], value: float) -> NDArray[np.int64]:
    return np.flatnonzero(np.isclose(iou_thresholds, value, rtol=0.0, atol=1e-9))


def stats_and_summary(
    precision: NDArray[np.float64],
    recall: NDArray[np.float64],
    iou_thresholds: NDArray[np.float64],
    area_ranges: dict[str, tuple[float, float]],
    max_dets: tuple[int, ...],
) -> tuple[NDArray[np.float64], list[str], dict[str, dict[str, float]]]:
    """Stats vector, summary lines and the per-area table.

    Rows: AP (IoU 0.50:0.95), AP50, AP75 at the first area range and the largest cap; with the standard
    four areas AP small/medium/large; AR at the first area for each cap; with the standard areas
    AR small/medium/large at the largest cap. Defaults give pycocotools' 12 numbers, bitwise.
    """
    labels = list(area_ranges)
    standard = list(area_ranges.values()) == list(STANDARD_AREAS.values())  # any labels
    m_last = len(max_dets) - 1
    iou_all = f"{iou_thresholds[0]:0.2f}:{iou_thresholds[-1]:0.2f}"
    rows: list[tuple[int, float | None, int, int]] = [(1, None, 0, m_last), (1, 0.5, 0, m_last), (1, 0.75, 0, m_last)]
    if standard:
        rows += [(1, None, a, m_last) for a in (1, 2, 3)]
    rows += [(0, None, 0, m) for m in range(len(max_dets))]
    if standard:
        rows += [(0, None, a, m_last) for a in (1, 2, 3)]
    stats, lines = [], []
    for is_ap, thr, a, m in rows:
        s = precision if is_ap else recall
        if thr is not None:
            s = s[_iou_index(iou_thresholds, thr)]
        value = mean_valid(s[..., a, m])
        stats.append(value)
        title, kind = ("Average Precision", "(AP)") if is_ap else ("Average Recall", "(AR)")
        iou_str = iou_all if thr is None else f"{thr:0.2f}"
        lines.append(_LINE.format(title, kind, iou_str, labels[a], max_dets[m], value))
    per_area = {
        label: {"AP": mean_valid(precision[..., a, m_last]), "AR": mean_valid(recall[..., a, m_last])}
        for a, label in enumerate(labels)
    }
    return np.asarray(stats, dtype=np.float64), lines, per_area


def per_class_table(
    precision: NDArray[np.float64],
    recall: NDArray[np.float64],
    iou_thresholds: NDArray[np.float64],
    category_ids: NDArray,
    category_names: list[str],
) -> list[dict]:
    """One row per category: AP, AP50, AP75, AR (first area range, largest cap; -1 without ground truth)."""
    t50, t75 = _iou_index(iou_thresholds, 0.5), _iou_index(iou_thresholds, 0.75)
    rows = []
    for k, (cid, name) in enumerate(zip(category_ids.tolist(), category_names, strict=True)):
        p = precision[:, :, k, 0, -1]  # [T, R]
        rows.append(
            {
                "category_id": cid,
                "name": name,
                "AP": mean_valid(p),
                "AP50": mean_valid(p[t50]),
                "AP75": mean_valid(p[t75]),
                "AR": mean_valid(recall[:, k, 0, -1]),
            }
        )
    return rows
