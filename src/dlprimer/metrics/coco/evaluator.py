"""The COCO evaluator: three phases called in order, ``match()`` → ``accumulate()`` → ``summarize()``.

1. **match** (:mod:`._match`): greedy matching by score per IoU threshold, crowd and area-range ignore,
   ``max_det`` cap per image and category; vectorized across all images and categories → :class:`Matches`;
2. **accumulate** (:mod:`._accumulate`): :class:`Tables` ``precision[T, R, K, A, M]``, ``recall[T, K, A, M]``,
   ``scores[T, R, K, A, M]`` (101-point interpolated precision, envelope + ``searchsorted``);
3. **summarize** (:mod:`._summary`): named :class:`Stat` numbers; the text and ``to_dict()`` are rendered
   from them.

:mod:`.reference` is the same computation written per image in ~60 lines, for reading (and a test oracle).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dlprimer.data.coco_json import Detections, GroundTruth, load_detections, load_ground_truth, source_of
from dlprimer.metrics.coco._accumulate import Tables, accumulate
from dlprimer.metrics.coco._keypoints import COCO_KEYPOINT_SIGMAS, KEYPOINT_AREAS, KeypointData, load_keypoints
from dlprimer.metrics.coco._match import Matches, match
from dlprimer.metrics.coco._params import EvalParams
from dlprimer.metrics.coco._segm import SegmData, load_segm
from dlprimer.metrics.coco._summary import Stat, per_area_table, per_class_table, render_line, summarize

__all__ = ["COCOEvalResult", "COCOEvaluator", "evaluate"]

IOU_TYPES = ("bbox", "segm", "keypoints")


@dataclass(frozen=True)
class COCOEvalResult:
    """Result of :func:`evaluate`.

    Axes: ``T`` IoU thresholds, ``R`` recall thresholds, ``K`` categories (sorted ids), ``A`` area ranges,
    ``M`` detection caps (sorted ascending). ``-1`` marks "no ground truth" (as pycocotools).

    Attributes:
        stats: float64 ``[12]`` for the standard areas and three caps (pycocotools' order: AP, AP50, AP75,
            AP S/M/L, AR@m1, AR@m2, AR@m3, AR S/M/L); otherwise AP, AP50, AP75, AR@each cap.
        named_stats: the same numbers as :class:`Stat` records (name, kind, IoU, area, cap, value).
        precision, recall, scores: the accumulated arrays.
        per_class: rows ``{"category_id", "name", "AP", "AP50", "AP75", "AR"}`` (AR at the largest cap,
            area range 0; -1 where the category has no ground truth).
        per_area: ``{label: {"AP": ..., "AR": ...}}`` at the largest cap.
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
    named_stats: tuple[Stat, ...] = field(repr=False, default=())

    @property
    def summary_lines(self) -> list[str]:
        """pycocotools' text lines, rendered from :attr:`named_stats`."""
        return [render_line(s, self.iou_thresholds) for s in self.named_stats]

    def summary(self) -> str:
        """The summary text, laid out like ``COCOeval.summarize()``'s printout."""
        return "\n".join(self.summary_lines)

    def to_dict(self) -> dict:
        """JSON-ready dict: stats with names, per-class and per-area tables, parameters."""
        return {
            "stats": {s.name: float(s.value) for s in self.named_stats},
            "stats_list": [float(s) for s in self.stats],
            "per_class": self.per_class,
            "per_area": self.per_area,
            "iou_thresholds": [float(t) for t in self.iou_thresholds],
            "max_dets": list(self.max_dets),
            "area_ranges": {k: list(v) for k, v in self.area_ranges.items()},
        }


class COCOEvaluator:
    """The three phases as methods, state kept explicit: ``run()`` calls ``match()``, ``accumulate()``,
    ``summarize()`` in that order; each phase reads the previous phase's stored result.

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
        max_dets: Sequence[int] | None = None,
        area_ranges: Mapping | Sequence | None = None,
        compat_gt_id_zero: bool = False,
        kpt_oks_sigmas: ArrayLike | None = None,
    ) -> None:
        if iou_type not in IOU_TYPES:
            raise ValueError(f"iou_type must be one of {list(IOU_TYPES)}, got {iou_type!r}")
        self.iou_type = iou_type
        kp = iou_type == "keypoints"
        if max_dets is None:
            max_dets = (20,) if kp else (1, 10, 100)
        if area_ranges is None and kp:
            area_ranges = dict(KEYPOINT_AREAS)
        self.params = EvalParams.build(iou_thresholds, rec_thresholds, max_dets, area_ranges, compat_gt_id_zero)
        self.segm: SegmData | None = None
        self.keypoints: KeypointData | None = None
        if iou_type in ("segm", "keypoints"):
            if isinstance(gt, GroundTruth) or isinstance(dt, Detections):
                raise TypeError(f"iou_type={iou_type!r} needs the COCO dict (or path) and results list (or path)")
            gt_data, gt_src = source_of(gt, "ground-truth", "<gt dict>")
            self.gt = load_ground_truth(gt_data, source=gt_src)
            if kp:
                sigmas = COCO_KEYPOINT_SIGMAS if kpt_oks_sigmas is None else np.asarray(kpt_oks_sigmas, np.float64)
                if sigmas.ndim != 1 or sigmas.size == 0 or not np.all(np.isfinite(sigmas) & (sigmas > 0)):
                    raise ValueError(
                        f"kpt_oks_sigmas must be a non-empty list of positive numbers, got {kpt_oks_sigmas!r}"
                    )
                self.keypoints = load_keypoints(gt_data, self.gt, dt, gt_src, sigmas.reshape(-1))
                self.dt = self.keypoints.det
            else:
                self.segm = load_segm(gt_data, self.gt, dt, gt_src)
                self.dt = self.segm.det
        else:
            self.gt = gt if isinstance(gt, GroundTruth) else load_ground_truth(gt)
            self.dt = dt if isinstance(dt, Detections) else load_detections(dt, self.gt)
        self.matches: Matches | None = None
        self.tables: Tables | None = None
        self.result: COCOEvalResult | None = None

    # pre-restructure attribute names, kept for callers
    iou_thresholds = property(lambda self: self.params.iou_thresholds)
    rec_thresholds = property(lambda self: self.params.rec_thresholds)
    max_dets = property(lambda self: self.params.max_dets)
    area_ranges = property(lambda self: self.params.area_ranges)

    def match(self) -> Matches:
        """Phase 1: match detections to ground truth (see :mod:`dlprimer.metrics.coco._match`)."""
        pair_iou, ignore = None, None
        if self.segm is not None:
            pair_iou = self.segm.pair_iou
        elif self.keypoints is not None:
            pair_iou, ignore = self.keypoints.pair_iou, self.keypoints.ignore
        p = self.params
        self.matches = match(self.gt, self.dt, p.iou_thresholds, p.area_array, p.max_dets[-1], pair_iou, ignore)
        return self.matches

    def accumulate(self) -> Tables:
        """Phase 2: precision/recall :class:`Tables` from the matches (runs :meth:`match` if not yet run)."""
        if self.matches is None:
            self.match()
        self.tables = accumulate(self.gt, self.dt, self.matches, self.params)
        return self.tables

    def summarize(self) -> COCOEvalResult:
        """Phase 3: named stats, per-class and per-area tables (runs :meth:`accumulate` if not yet run)."""
        if self.tables is None:
            self.accumulate()
        tables, p = self.tables, self.params
        named = summarize(tables, p)
        self.result = COCOEvalResult(
            stats=np.array([s.value for s in named], dtype=np.float64),
            precision=tables.precision,
            recall=tables.recall,
            scores=tables.scores,
            iou_thresholds=p.iou_thresholds,
            rec_thresholds=p.rec_thresholds,
            max_dets=p.max_dets,
            area_ranges=p.area_ranges,
            category_ids=self.gt.category_ids.tolist(),
            category_names=self.gt.category_names,
            per_class=per_class_table(tables, p, self.gt.category_ids, self.gt.category_names),
            per_area=per_area_table(tables, p),
            named_stats=tuple(named),
        )
        return self.result

    def run(self) -> COCOEvalResult:
        """All three phases, in order."""
        self.match()
        self.accumulate()
        return self.summarize()

    def explain(self, iou: float = 0.5, area: str | None = None) -> dict[str, NDArray]:
        """Why each detection counted as it did, at IoU threshold ``iou`` and area range ``area``.

        Returns arrays over the caller's detections (input order): ``status`` (``"tp"``, ``"fp"``,
        ``"ignored"``: matched to a crowd or out-of-range ground truth, or unmatched and itself out of
        range; ``"over_max_det"``: beyond the largest cap in its image and category) and
        ``matched_gt_id`` (the ground-truth annotation id, or -1). Same content as pycocotools'
        ``evalImgs[...]['dtMatches' / 'dtIgnore']``.
        """
        labels = list(self.params.area_ranges)
        a = 0 if area is None else labels.index(area) if area in labels else -1
        if a < 0:
            raise ValueError(f"area must be one of {labels}, got {area!r}")
        t_hits = np.flatnonzero(np.isclose(self.params.iou_thresholds, iou, rtol=0, atol=1e-9))
        if t_hits.size == 0:
            raise ValueError(f"iou must be one of {self.params.iou_thresholds.tolist()}, got {iou}")
        mt = self.match() if self.matches is None else self.matches
        n = len(self.dt.score)
        lo, hi = self.params.area_ranges[labels[a]]
        status = np.full(n, "over_max_det", dtype=object)
        area_d = self.dt.area[mt.det_index]
        status[mt.det_index] = np.where((area_d < lo) | (area_d > hi), "ignored", "fp")
        matched_gt = np.full(n, -1, dtype=object if self.gt.ann_ids.dtype.kind == "U" else np.int64)
        ev = (mt.t == t_hits[0]) & (mt.a == a)
        d, g = mt.det_index[mt.det[ev]], mt.gt[ev]
        matched_gt[d] = self.gt.ann_ids[g]
        counts = (
            self.gt.ann_ids[g] != 0
            if self.params.compat_gt_id_zero and self.gt.ann_ids.dtype.kind in "iu"
            else np.ones(len(g), bool)
        )
        ignored = mt.gt_ignore[a, g] | (~counts & (status[d] == "ignored"))
        status[d] = np.where(ignored, "ignored", np.where(counts, "tp", "fp"))
        return {"status": status.astype(str), "matched_gt_id": matched_gt}


def evaluate(
    gt: dict | str | os.PathLike[str],
    dt: list | str | os.PathLike[str],
    iou_type: str = "bbox",
    iou_thresholds: ArrayLike | None = None,
    rec_thresholds: ArrayLike | None = None,
    max_dets: Sequence[int] | None = None,
    area_ranges: Mapping | Sequence | None = None,
    compat_gt_id_zero: bool = False,
    kpt_oks_sigmas: ArrayLike | None = None,
) -> COCOEvalResult:
    """Evaluate COCO bbox results ``dt`` against ground truth ``gt``; equals pycocotools' ``COCOeval``.

    Args:
        gt: a COCO dict (``images``, ``annotations`` with ``id, image_id, category_id, bbox [x, y, w, h],
            area`` and optional ``iscrowd``, ``categories``) or a path to its JSON.
        dt: a results list (``image_id, category_id, bbox, score``) or a path to its JSON.
        iou_type: ``"bbox"``, ``"segm"`` (masks: polygons, uncompressed or compressed RLE, see
            :mod:`dlprimer.metrics.coco._masks`; polygons need the images' ``height``/``width``) or
            ``"keypoints"`` (OKS, :mod:`dlprimer.metrics.coco._keypoints`; ground truth needs ``keypoints``
            and ``num_keypoints``, results ``keypoints``).
        iou_thresholds: default ``0.50:0.05:0.95`` (10 values).
        rec_thresholds: default ``0:0.01:1`` (101 values).
        max_dets: detection caps per image and category, default ``(1, 10, 100)`` (keypoints: ``(20,)``);
            sorted ascending.
            AP rows use the largest cap, the AR rows each cap.
        area_ranges: ``{label: (lo, hi)}`` (inclusive, in pixels²) or a list of pairs; default COCO's
            all/small/medium/large (keypoints: all/medium/large). The first range plays "all" in ``stats``.
        compat_gt_id_zero: reproduce pycocotools' mistreatment of a ground truth with id 0.
        kpt_oks_sigmas: per-keypoint OKS sigmas (default COCO's 17).

    Returns:
        :class:`COCOEvalResult` with ``.stats``, ``.precision``, ``.recall``, ``.scores``, ``.per_class``,
        ``.summary()``.
    """
    return COCOEvaluator(
        gt, dt, iou_type, iou_thresholds, rec_thresholds, max_dets, area_ranges, compat_gt_id_zero, kpt_oks_sigmas
    ).run()
