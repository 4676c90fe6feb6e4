"""COCO detection evaluation in NumPy: equal to pycocotools' ``COCOeval`` (bbox, segm, keypoints), and faster.

Entry points:

* :func:`evaluate` / :class:`COCOEvaluator` (:mod:`.evaluator`): the evaluator, in three explicit phases run
  in order (``match`` → ``accumulate`` → ``summarize``); :mod:`.reference` is the same rules written per
  image in ~60 lines, for reading;
* :class:`COCO`, :class:`COCOeval` (:mod:`.coco`, :mod:`.cocoeval`): pycocotools' API as a drop-in;
* :class:`MeanAveragePrecision` (:mod:`.mean_ap`): torchmetrics' incremental metric (torch imported lazily);
* :func:`load_coco_json` (:mod:`dlprimer.data.coco_json`): the one COCO JSON reader and validator, NumPy only, for every
  package that reads COCO files.

``iou_type="bbox"`` compares boxes; ``"segm"`` masks (polygons, uncompressed or compressed RLE, rasterized
and intersected exactly as pycocotools' mask API, :mod:`._masks`, :mod:`._polygons`); ``"keypoints"`` OKS
(:mod:`._keypoints`). ``COCOEvaluator.explain(iou, area)`` says for each detection whether it was a true
positive, a false positive, ignored or over the cap, and which ground truth it matched.

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

from dlprimer.data.coco_json import (
    CocoDataset,
    Detections,
    GroundTruth,
    detections_from_arrays,
    load_coco_json,
    load_detections,
    load_ground_truth,
)
from dlprimer.metrics.coco._match import box_iou_coco
from dlprimer.metrics.coco._params import STANDARD_AREAS, EvalParams, default_iou_thresholds, default_rec_thresholds
from dlprimer.metrics.coco._summary import Stat
from dlprimer.metrics.coco.coco import COCO
from dlprimer.metrics.coco.cocoeval import COCOeval, Params
from dlprimer.metrics.coco.evaluator import COCOEvalResult, COCOEvaluator, evaluate
from dlprimer.metrics.coco.mean_ap import MeanAveragePrecision

__all__ = [
    "COCO",
    "COCOeval",
    "Params",
    "COCOEvalResult",
    "COCOEvaluator",
    "STANDARD_AREAS",
    "CocoDataset",
    "Detections",
    "EvalParams",
    "GroundTruth",
    "MeanAveragePrecision",
    "Stat",
    "box_iou_coco",
    "default_iou_thresholds",
    "default_rec_thresholds",
    "detections_from_arrays",
    "evaluate",
    "load_coco_json",
    "load_detections",
    "load_ground_truth",
]
