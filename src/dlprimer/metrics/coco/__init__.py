"""COCO detection evaluation in NumPy: equal to pycocotools' ``COCOeval`` (bbox and segm), and much faster.

``iou_type="bbox"`` compares boxes; ``"segm"`` compares masks (polygons, uncompressed or compressed RLE,
rasterized and intersected exactly as pycocotools' mask API, :mod:`._masks`); keypoints are not done.

Three explicit phases, as pycocotools (``evaluate`` → ``accumulate`` → ``summarize``):

1. **match** (:mod:`._match`): greedy matching by score per IoU threshold, crowd and area-range ignore,
   ``max_det`` cap per image and category; vectorized across all images and categories;
2. **accumulate** (:mod:`._accumulate`): ``precision[T, R, K, A, M]``, ``recall[T, K, A, M]``,
   ``scores[T, R, K, A, M]`` (101-point interpolated precision, envelope + ``searchsorted``);
3. **summarize** (:mod:`._summary`): the 12 standard numbers and pycocotools' text.

``COCOEvaluator.explain(iou, area)`` says for each detection whether it was a true positive, a false
positive, ignored or over the cap, and which ground truth it matched.

Notes (the study notes, "AP和mAP的理解"): mAP is the *plain* mean of per-category AP over categories that
have ground truth (the notes say "按其所占比例做平均", weighted by share: COCO does not weight), and COCO's
AP further averages over the IoU thresholds 0.50:0.05:0.95.

Differences from pycocotools, all on input pycocotools gets wrong or rejects: an empty result list
evaluates (AP 0 where ground truth exists) instead of crashing; custom ``max_dets`` are honoured in every
row (pycocotools hard-codes 100 in the first row, cocoapi #558); a ground-truth annotation with id 0 is a
normal annotation (pycocotools counts detections matched to it as false positives; pass
``compat_gt_id_zero=True`` to reproduce that); missing ``iscrowd`` means 0.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer.metrics.coco._accumulate import accumulate
from dlprimer.metrics.coco._match import Matches, box_iou_coco, match
from dlprimer.metrics.coco._segm import SegmData, load_segm
from dlprimer.metrics.coco._summary import STANDARD_AREAS, per_class_table, stats_and_summary
from dlprimer.metrics.coco.dataset import (
    Detections,
    GroundTruth,
    _source,
    detections_from_arrays,
    load_detections,
    load_ground_truth,
)

__all__ = [
    "COCOEvalResult",
    "COCOEvaluator",
    "STANDARD_AREAS",
    "box_iou_coco",
    "default_iou_thresholds",
    "default_rec_thresholds",
    "detections_from_arrays",
    "evaluate",
    "load_detections",
    "load_ground_truth",
]


def default_iou_thresholds() -> NDArray[np.float64]:
    """``[0.50, 0.55, ..., 0.95]`` built exactly as pycocotools (``np.linspace``, not ``arange``)."""
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def default_rec_thresholds() -> NDArray[np.float64]:
    """The 101 recall points ``[0.00, 0.01, ..., 1.00]`` built exactly as pycocotools."""
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass(frozen=True)
class COCOEvalResult:
    """Result of :func:`evaluate`.

    Axes: ``T`` IoU thresholds, ``R`` recall thresholds, ``K`` categories (sorted ids), ``A`` area ranges,
    ``M`` detection caps (sorted ascending). ``-1`` marks "no ground truth" (as pycocotools).

    Attributes:
        stats: float64 ``[12]`` for the standard areas and three caps (pycocotools' order: AP, AP50, AP75,
            AP S/M/L, AR@m1, AR@m2, AR@m3, AR S/M/L); otherwise AP, AP50, AP75, AR@each cap.
        precision, recall, scores: the accumulated arrays.
        per_class: rows ``{"category_id", "name", "AP", "AP50", "AP75", "AR"}`` (AR at the largest cap,
            area range 0; -1 where the category has no ground truth).
        per_area: ``{label: {"AP": ..., "AR": ...}}`` at the largest cap.
        summary_lines: pycocotools' text lines.
    """

    stats: NDArray[np.float64]
    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    scores: NDArray[np.float64]
    iou_thresholds: NDArray[np.float64]
    rec_thresholds: NDArray[np.float64]
    max_dets: tuple[int, ...]
    area_ranges: dict[str, tuple[float, float]]
    category_ids: list
    category_names: list[str]
    per_class: list[dict] = field(repr=False)
    per_area: dict[str, dict[str, float]] = field(repr=False)
    summary_lines: list[str] = field(repr=False)

    def summary(self) -> str:
        """The summary text, laid out like ``COCOeval.summarize()``'s printout."""
        return "\n".join(self.summary_lines)

    def to_dict(self) -> dict:
        """JSON-ready dict: stats with names, per-class and per-area tables, parameters."""
        names = [_stat_name(line, next(iter(self.area_ranges))) for line in self.summary_lines]
        return {
            "stats": dict(zip(names, map(float, self.stats), strict=True)),
            "stats_list": [float(s) for s in self.stats],
            "per_class": self.per_class,
            "per_area": self.per_area,
            "iou_thresholds": [float(t) for t in self.iou_thresholds],
            "max_dets": list(self.max_dets),
            "area_ranges": {k: list(v) for k, v in self.area_ranges.items()},
        }


def _stat_name(line: str, first_area: str) -> str:
    """Short unique name of a summary line: ``AP``, ``AP50``, ``AP_small``, ``AR@1``, ``AR_small@100``."""
    kind = "AP" if "(AP)" in line else "AR"
    iou = line.split("IoU=")[1].split("|")[0].strip()
    area = line.split("area=")[1].split("|")[0].strip()
    dets = line.split("maxDets=")[1].split("]")[0].strip()
    name = kind + ("" if ":" in iou else str(round(float(iou) * 100)))
    name += "" if area == first_area.strip() else f"_{area}"
    return name + (f"@{dets}" if kind == "AR" else "")


def _area_ranges(area_ranges: Mapping | Sequence | None) -> dict[str, tuple[float, float]]:
    if area_ranges is None:
        return dict(STANDARD_AREAS)
    if isinstance(area_ranges, Mapping):
        items = [(str(k), v) for k, v in area_ranges.items()]
    else:
        items = [(f"range{i}", v) for i, v in enumerate(area_ranges)]
    if not items:
        raise ValueError("area_ranges must hold at least one (lo, hi) range, got none")
    out = {}
    for name, v in items:
        lo_hi = np.asarray(v, dtype=np.float64)
        if lo_hi.shape != (2,) or not np.all(np.isfinite(lo_hi) | (lo_hi == np.inf)) or lo_hi[0] > lo_hi[1]:
            raise ValueError(f"area_ranges[{name!r}] must be (lo, hi) with lo <= hi, got {v!r}")
        out[name] = (float(lo_hi[0]), float(lo_hi[1]))
    if not isinstance(area_ranges, Mapping) and list(out.values()) == list(STANDARD_AREAS.values()):
        return dict(STANDARD_AREAS)  # pycocotools' own list: keep its labels and the 12-number layout
    return out


def _thresholds(values: ArrayLike | None, default: NDArray, name: str) -> NDArray[np.float64]:
    if values is None:
        return default
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all((arr >= 0) & (arr <= 1)) or np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be a non-empty increasing sequence in [0, 1], got {values!r}")
    return arr


def _max_dets(values: Sequence[int]) -> tuple[int, ...]:
    try:
        items = list(values)
    except TypeError:
        raise TypeError(f"max_dets must be a sequence of positive integers, got {values!r}") from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise TypeError(f"max_dets must be a sequence of positive integers, got {values!r}")
    dets = [int(v) for v in items]
    if not dets or min(dets) < 1 or len(set(dets)) != len(dets):
        raise ValueError(f"max_dets must be distinct positive integers, got {values!r}")
    return tuple(sorted(dets))


class COCOEvaluator:
    """The three phases as methods (``match`` → ``accumulate`` → ``summarize``), state kept explicit.

    ``COCOEvaluator(gt, dt).run()`` equals :func:`evaluate`. Inputs are copied into arrays: the caller's
    dicts and lists are never mutated.
    """

    def __init__(
        self,
        gt: dict | str | os.PathLike[str] | GroundTruth,
        dt: list | str | os.PathLike[str] | Detections,
        iou_type: str = "bbox",
        iou_thresholds: ArrayLike | None = None,
        rec_thresholds: ArrayLike | None = None,
        max_dets: Sequence[int] = (1, 10, 100),
        area_ranges: Mapping | Sequence | None = None,
        compat_gt_id_zero: bool = False,
    ) -> None:
        if iou_type not in ("bbox", "segm"):
            raise ValueError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
        self.iou_type = iou_type
        self.segm: SegmData | None = None
        if iou_type == "segm":
            if isinstance(gt, GroundTruth) or isinstance(dt, Detections):
                raise TypeError("iou_type='segm' needs the COCO dict (or path) and results list (or path)")
            gt_data, gt_src = _source(gt, "ground-truth", "<gt dict>")
            self.gt = load_ground_truth(gt_data, source=gt_src)
            self.segm = load_segm(gt_data, self.gt, dt, gt_src)
            self.dt = self.segm.det
        else:
            self.gt = gt if isinstance(gt, GroundTruth) else load_ground_truth(gt)
            self.dt = dt if isinstance(dt, Detections) else load_detections(dt, self.gt)
        self.iou_thresholds = _thresholds(iou_thresholds, default_iou_thresholds(), "iou_thresholds")
        self.rec_thresholds = _thresholds(rec_thresholds, default_rec_thresholds(), "rec_thresholds")
        self.max_dets = _max_dets(max_dets)
        self.area_ranges = _area_ranges(area_ranges)
        self.compat_gt_id_zero = bool(compat_gt_id_zero)
        self.matches: Matches | None = None
        self.tables: tuple[NDArray, NDArray, NDArray] | None = None

    def match(self) -> Matches:
        """Phase 1: match detections to ground truth (see :mod:`dlprimer.metrics.coco._match`)."""
        rng = np.array(list(self.area_ranges.values()), dtype=np.float64).reshape(-1, 2)  # [A, 2]
        pair_iou = None if self.segm is None else self.segm.pair_iou
        self.matches = match(self.gt, self.dt, self.iou_thresholds, rng, self.max_dets[-1], pair_iou)
        return self.matches

    def accumulate(self) -> tuple[NDArray, NDArray, NDArray]:
        """Phase 2: ``(precision[T,R,K,A,M], recall[T,K,A,M], scores[T,R,K,A,M])``."""
        mt = self.match() if self.matches is None else self.matches
        gt, dt = self.gt, self.dt
        rng = np.array(list(self.area_ranges.values()), dtype=np.float64).reshape(-1, 2)  # [A, 2]
        d = mt.det_index
        # Accumulation order: category, score descending, image, input order (pycocotools' mergesort).
        order = np.lexsort((d, dt.img[d], -dt.score[d], dt.cat[d]))
        where = np.empty_like(order)
        where[order] = np.arange(len(order))
        d = d[order]
        area = dt.area[d]
        outside = (area[None, :] < rng[:, :1]) | (area[None, :] > rng[:, 1:])  # [A, N]
        ev_n = where[mt.det]
        g_ign = mt.gt_ignore[mt.a, mt.gt]  # matched to an ignored ground truth
        counts = np.ones(len(ev_n), dtype=bool)
        if gt.ann_ids.dtype.kind in "iu" and bool(np.any(gt.ann_ids == 0)):
            if self.compat_gt_id_zero:
                counts = gt.ann_ids[mt.gt] != 0
            else:
                warnings.warn(
                    "ground truth has an annotation with id 0: pycocotools counts detections matched to it "
                    "as false positives; dlprimer counts them correctly (compat_gt_id_zero=True copies "
                    "pycocotools)",
                    UserWarning,
                    stacklevel=3,
                )
        ev_ignored = g_ign | (~counts & outside[mt.a, ev_n])
        ev_tp = counts & ~ev_ignored
        K = len(gt.category_ids)
        keep = ~mt.gt_ignore  # [A, G]
        npig = np.stack([np.bincount(gt.cat[keep[a]], minlength=K) for a in range(len(rng))], axis=1)  # [K, A]
        self.tables = accumulate(
            dt.cat[d],
            dt.score[d],
            mt.rank[order],
            outside,
            mt.t,
            mt.a,
            ev_n,
            ev_tp,
            ev_ignored,
            npig,
            len(self.iou_thresholds),
            self.rec_thresholds,
            np.asarray(self.max_dets, dtype=np.int64),
        )
        return self.tables

    def explain(self, iou: float = 0.5, area: str | None = None) -> dict[str, NDArray]:
        """Why each detection counted as it did, at IoU threshold ``iou`` and area range ``area``.

        Returns arrays over the caller's detections (input order): ``status`` (``"tp"``, ``"fp"``,
        ``"ignored"``: matched to a crowd or out-of-range ground truth, or unmatched and itself out of
        range; ``"over_max_det"``: beyond the largest cap in its image and category) and
        ``matched_gt_id`` (the ground-truth annotation id, or -1). Same content as pycocotools'
        ``evalImgs[...]['dtMatches' / 'dtIgnore']``.
        """
        labels = list(self.area_ranges)
        a = 0 if area is None else labels.index(area) if area in labels else -1
        if a < 0:
            raise ValueError(f"area must be one of {labels}, got {area!r}")
        t_hits = np.flatnonzero(np.isclose(self.iou_thresholds, iou, rtol=0, atol=1e-9))
        if t_hits.size == 0:
            raise ValueError(f"iou must be one of {self.iou_thresholds.tolist()}, got {iou}")
        mt = self.match() if self.matches is None else self.matches
        n = len(self.dt.score)
        lo, hi = self.area_ranges[labels[a]]
        status = np.full(n, "over_max_det", dtype=object)
        area_d = self.dt.area[mt.det_index]
        status[mt.det_index] = np.where((area_d < lo) | (area_d > hi), "ignored", "fp")
        matched_gt = np.full(n, -1, dtype=object if self.gt.ann_ids.dtype.kind == "U" else np.int64)
        ev = (mt.t == t_hits[0]) & (mt.a == a)
        d, g = mt.det_index[mt.det[ev]], mt.gt[ev]
        matched_gt[d] = self.gt.ann_ids[g]
        counts = (
            self.gt.ann_ids[g] != 0
            if self.compat_gt_id_zero and self.gt.ann_ids.dtype.kind in "iu"
            else np.ones(len(g), bool)
        )
        ignored = mt.gt_ignore[a, g] | (~counts & (status[d] == "ignored"))
        status[d] = np.where(ignored, "ignored", np.where(counts, "tp", "fp"))
        return {"status": status.astype(str), "matched_gt_id": matched_gt}

    def summarize(self) -> COCOEvalResult:
        """Phase 3: stats, per-class and per-area tables, summary text."""
        precision, recall, scores = self.accumulate() if self.tables is None else self.tables
        stats, lines, per_area = stats_and_summary(
            precision, recall, self.iou_thresholds, self.area_ranges, self.max_dets
        )
        table = per_class_table(precision, recall, self.iou_thresholds, self.gt.category_ids, self.gt.category_names)
        return COCOEvalResult(
            stats=stats,
            precision=precision,
            recall=recall,
            scores=scores,
            iou_thresholds=self.iou_thresholds,
            rec_thresholds=self.rec_thresholds,
            max_dets=self.max_dets,
            area_ranges=self.area_ranges,
            category_ids=self.gt.category_ids.tolist(),
            category_names=self.gt.category_names,
            per_class=table,
            per_area=per_area,
            summary_lines=lines,
        )

    def run(self) -> COCOEvalResult:
        """All three phases."""
        return self.summarize()


def evaluate(
    gt: dict | str | os.PathLike[str],
    dt: list | str | os.PathLike[str],
    iou_type: str = "bbox",
    iou_thresholds: ArrayLike | None = None,
    rec_thresholds: ArrayLike | None = None,
    max_dets: Sequence[int] = (1, 10, 100),
    area_ranges: Mapping | Sequence | None = None,
    compat_gt_id_zero: bool = False,
) -> COCOEvalResult:
    """Evaluate COCO bbox results ``dt`` against ground truth ``gt``; equals pycocotools' ``COCOeval``.

    Args:
        gt: a COCO dict (``images``, ``annotations`` with ``id, image_id, category_id, bbox [x, y, w, h],
            area`` and optional ``iscrowd``, ``categories``) or a path to its JSON.
        dt: a results list (``image_id, category_id, bbox, score``) or a path to its JSON.
        iou_type: ``"bbox"`` or ``"segm"`` (masks: polygons, uncompressed or compressed RLE, see
            :mod:`dlprimer.metrics.coco._masks`; polygons need the images' ``height``/``width``).
        iou_thresholds: default ``0.50:0.05:0.95`` (10 values).
        rec_thresholds: default ``0:0.01:1`` (101 values).
        max_dets: detection caps per image and category, default ``(1, 10, 100)``; sorted ascending.
            AP rows use the largest cap, the AR rows each cap.
        area_ranges: ``{label: (lo, hi)}`` (inclusive, in pixels²) or a list of pairs; default COCO's
            all/small/medium/large. The first range plays "all" in ``stats``.
        compat_gt_id_zero: reproduce pycocotools' mistreatment of a ground truth with id 0.

    Returns:
        :class:`COCOEvalResult` with ``.stats``, ``.precision``, ``.recall``, ``.scores``, ``.per_class``,
        ``.summary()``.
    """
    return COCOEvaluator(
        gt, dt, iou_type, iou_thresholds, rec_thresholds, max_dets, area_ranges, compat_gt_id_zero
    ).run()
