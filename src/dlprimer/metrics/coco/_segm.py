"""Loading for ``iou_type="segm"``: masks of ground truth and results, as pycocotools prepares them.

pycocotools' ``loadRes`` looks at the *first* result: if it has a non-empty ``bbox``, every result is
read as a box result (``area = w*h``; a result without ``segmentation`` gets its box as a polygon);
otherwise results are masks (``area`` = mask pixel count). Ground truth keeps its ``area`` field.
Polygons need the image's ``height`` and ``width``; an RLE keeps its own ``size`` (pycocotools' rule: it
need not match the image entry; a detection and a ground truth whose masks differ in size have IoU -1 and
never match).
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import (
    Detections,
    GroundTruth,
    column_of,
    load_detections,
    result_keys,
    source_of,
)
from dlprimer.metrics.coco._masks import Masks, mask_iou_pairs, masks_from_segmentations

__all__ = ["SegmData", "load_segm"]


class SegmData:
    """Detections plus the masks of ground truth (``gt_masks``) and detections (``dt_masks``)."""

    def __init__(self, det: Detections, gt_masks: Masks, dt_masks: Masks, iscrowd: NDArray[np.bool_]) -> None:
        self.det, self.gt_masks, self.dt_masks, self.iscrowd = det, gt_masks, dt_masks, iscrowd

    def pair_iou(self, d: NDArray[np.int64], g: NDArray[np.int64]) -> NDArray[np.float64]:
        return mask_iou_pairs(self.dt_masks, self.gt_masks, d, g, self.iscrowd[g])


def _image_sizes(images: list, gt: GroundTruth) -> tuple[NDArray, NDArray]:
    """Height and width per sorted image index (-1 where the image record lacks them)."""
    ids = np.asarray([im["id"] for im in images])
    idx = np.searchsorted(gt.image_ids, ids)
    h = np.full(len(gt.image_ids), -1, dtype=np.int64)
    w = np.full(len(gt.image_ids), -1, dtype=np.int64)
    h[idx] = [int(im.get("height", -1)) for im in images]
    w[idx] = [int(im.get("width", -1)) for im in images]
    return h, w


def _masks(segms: list, img: NDArray, h: NDArray, w: NDArray, src: str, section: str) -> Masks:
    where = [f"{src}: {section}[{i}].segmentation" for i in range(len(segms))]
    hh = [int(v) if v >= 0 else None for v in h[img]]
    ww = [int(v) if v >= 0 else None for v in w[img]]
    return masks_from_segmentations(segms, hh, ww, where)


def load_segm(gt_data: dict, gt: GroundTruth, dt: list | str | os.PathLike[str], gt_src: str) -> SegmData:
    """Masks for segm evaluation; ``gt_data`` is the (validated) ground-truth dict behind ``gt``."""
    h, w = _image_sizes(gt_data["images"], gt)
    anns = gt_data["annotations"]
    fields = ("id", "image_id", "category_id", "bbox", "area", "segmentation")
    segmentations = column_of(anns, "segmentation", gt_src, "annotations", fields)
    gt_masks = _masks(segmentations, gt.img, h, w, gt_src, "annotations")

    data, src = source_of(dt, "detections", "<detections list>")
    if not isinstance(data, list):
        raise TypeError(f"{src} must be a list of result records, got {type(data).__name__}")
    box_results = bool(data) and isinstance(data[0], dict) and data[0].get("bbox") not in (None, [])
    if box_results:  # pycocotools' loadRes: boxes decide area; missing masks become box polygons
        det = load_detections(data, gt)
        segms = []
        for rec, b in zip(data, det.bbox, strict=True):
            x0, y0, bw, bh = b.tolist()
            segms.append(rec.get("segmentation", [[x0, y0, x0, y0 + bh, x0 + bw, y0 + bh, x0 + bw, y0]]))
        dt_masks = _masks(segms, det.img, h, w, src, "results")
    else:
        fields = ("image_id", "category_id", "segmentation", "score")
        img, cat, score = result_keys(data, gt, src, fields)
        dt_masks = _masks(column_of(data, "segmentation", src, "results", fields), img, h, w, src, "results")
        det = Detections(img, cat, np.zeros((len(img), 4)), score, dt_masks.area.astype(np.float64))
    return SegmData(det, gt_masks, dt_masks, gt.iscrowd)
