"""Phase 3 of COCO evaluation: the standard numbers as named data, then the text and tables rendered from them.

A :class:`Stat` carries what it is (``kind`` AP/AR, ``iou`` threshold or ``None`` for the mean over all
thresholds, ``area`` label, ``max_det`` cap), its short ``name`` (``AP``, ``AP50``, ``AP_small``, ``AR@1``,
``AR_small@100``) and its ``value``. pycocotools' printed lines and ``to_dict()`` are both rendered from
the list; nothing is parsed back out of text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dlprimer.metrics.coco._accumulate import Tables
from dlprimer.metrics.coco._keypoints import KEYPOINT_AREAS
from dlprimer.metrics.coco._params import STANDARD_AREAS, EvalParams

__all__ = ["STANDARD_AREAS", "Stat", "mean_valid", "per_area_table", "per_class_table", "render_line", "summarize"]

_LINE = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"


@dataclass(frozen=True)
class Stat:
    """One summary number: ``kind`` ``"AP"`` or ``"AR"``; ``iou`` a threshold or ``None`` (mean over all);
    ``area`` the area-range label; ``max_det`` the cap; ``value`` (-1 when nothing to average)."""

    name: str
    kind: str
    iou: float | None
    area: str
    max_det: int
    value: float


def render_line(stat: Stat, iou_thresholds: NDArray[np.float64]) -> str:
    """pycocotools' printed line for ``stat``."""
    title, tag = ("Average Precision", "(AP)") if stat.kind == "AP" else ("Average Recall", "(AR)")
    iou = f"{iou_thresholds[0]:0.2f}:{iou_thresholds[-1]:0.2f}" if stat.iou is None else f"{stat.iou:0.2f}"
    return _LINE.format(title, tag, iou, stat.area, stat.max_det, stat.value)


def mean_valid(s: NDArray[np.float64]) -> float:
    """Mean of the entries ``> -1`` (C order, as pycocotools' ``np.mean(s[s > -1])``); -1 if none."""
    valid = s[s > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def _iou_index(iou_thresholds: NDArray[np.float64], value: float) -> NDArray[np.int64]:
    return np.flatnonzero(np.isclose(iou_thresholds, value, rtol=0.0, atol=1e-9))


def _name(kind: str, iou: float | None, area: str, first_area: str, max_det: int) -> str:
    name = kind + ("" if iou is None else str(round(iou * 100)))
    name += "" if area == first_area else f"_{area.strip()}"
    return name + (f"@{max_det}" if kind == "AR" else "")  # AR50@20: keypoints' AR at IoU 0.5


def summarize(tables: Tables, params: EvalParams) -> list[Stat]:
    """The summary numbers, in pycocotools' order.

    Rows: AP (IoU mean), AP50, AP75 at the first area range and the largest cap; with the standard four
    areas AP small/medium/large; AR at the first area for each cap; with the standard areas AR
    small/medium/large at the largest cap. Defaults give pycocotools' 12 numbers, bitwise. With the keypoint
    areas (all/medium/large): pycocotools' 10 keypoint numbers (AP, AP50, AP75, AP M/L, AR, AR50, AR75,
    AR M/L at the largest cap).
    """
    max_dets = params.max_dets
    standard = list(params.area_ranges.values()) == list(STANDARD_AREAS.values())  # any labels
    m_last = len(max_dets) - 1
    rows: list[tuple[str, float | None, int, int]] = [("AP", None, 0, m_last), ("AP", 0.5, 0, m_last)]
    rows.append(("AP", 0.75, 0, m_last))
    if list(params.area_ranges.values()) == list(KEYPOINT_AREAS.values()):  # pycocotools' 10 keypoint stats
        rows += [("AP", None, 1, m_last), ("AP", None, 2, m_last)]
        rows += [("AR", iou, 0, m_last) for iou in (None, 0.5, 0.75)] + [("AR", None, a, m_last) for a in (1, 2)]
        return [_stat(kind, iou, a, m, tables, params) for kind, iou, a, m in rows]
    if standard:
        rows += [("AP", None, a, m_last) for a in (1, 2, 3)]
    rows += [("AR", None, 0, m) for m in range(len(max_dets))]
    if standard:
        rows += [("AR", None, a, m_last) for a in (1, 2, 3)]
    return [_stat(kind, iou, a, m, tables, params) for kind, iou, a, m in rows]


def _stat(kind: str, iou: float | None, a: int, m: int, tables: Tables, params: EvalParams) -> Stat:
    labels, max_dets = list(params.area_ranges), params.max_dets
    s = tables.precision if kind == "AP" else tables.recall
    if iou is not None:
        s = s[_iou_index(params.iou_thresholds, iou)]
    value = mean_valid(s[..., a, m])
    return Stat(_name(kind, iou, labels[a], labels[0], max_dets[m]), kind, iou, labels[a], max_dets[m], value)


def per_area_table(tables: Tables, params: EvalParams) -> dict[str, dict[str, float]]:
    """``{label: {"AP": ..., "AR": ...}}`` at the largest cap."""
    p, r = tables.precision, tables.recall
    return {
        label: {"AP": mean_valid(p[..., a, -1]), "AR": mean_valid(r[..., a, -1])}
        for a, label in enumerate(params.area_ranges)
    }


def per_class_table(tables: Tables, params: EvalParams, category_ids: NDArray, category_names: list[str]) -> list[dict]:
    """One row per category: AP, AP50, AP75, AR (first area range, largest cap; -1 without ground truth)."""
    t50, t75 = _iou_index(params.iou_thresholds, 0.5), _iou_index(params.iou_thresholds, 0.75)
    rows = []
    for k, (cid, name) in enumerate(zip(category_ids.tolist(), category_names, strict=True)):
        p = tables.precision[:, :, k, 0, -1]  # [T, R]
        rows.append(
            {
                "category_id": cid,
                "name": name,
                "AP": mean_valid(p),
                "AP50": mean_valid(p[t50]),
                "AP75": mean_valid(p[t75]),
                "AR": mean_valid(tables.recall[:, k, 0, -1]),
            }
        )
    return rows
