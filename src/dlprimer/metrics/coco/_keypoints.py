"""Loading for ``iou_type="keypoints"`` and OKS (object keypoint similarity), as pycocotools computes them.

OKS of a detection ``d`` and a ground truth ``g`` with ``K`` keypoints (COCO: 17, per-keypoint ``sigmas``)::

    e_i = (dx_i² + dy_i²) / (2 sigma_i)² / (area_g + eps) / 2
    OKS = mean over the visible keypoints of g (v_i > 0) of exp(-e_i)

With no visible keypoint, ``dx``/``dy`` are distances outside the ground truth's box grown to twice its
size, and the mean runs over all ``K``. Same float operations and summation order as pycocotools'
``computeOks`` (sums taken over contiguous rows of the visible values), so results are bitwise equal.

Rules copied from pycocotools: a ground truth with ``num_keypoints == 0`` is ignored (as a crowd one);
``COCO.loadRes`` gives a keypoint result the box spanned by *all* its keypoints (unlabelled ``(0, 0)``
points included) and that box's area; if the first result has a non-empty ``bbox``, every result's area
is its ``bbox`` ``w*h`` instead (``loadRes`` takes its box branch).
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import (
    Detections,
    GroundTruth,
    column_of,
    parse_boxes,
    parse_floats,
    result_keys,
    source_of,
)

__all__ = ["COCO_KEYPOINT_SIGMAS", "KEYPOINT_AREAS", "KeypointData", "load_keypoints", "oks_pairs"]

COCO_KEYPOINT_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)
KEYPOINT_AREAS: dict[str, tuple[float, float]] = {
    "all": (0.0**2, 1e5**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}


def oks_pairs(
    dt_kp: NDArray[np.float64],
    gt_kp: NDArray[np.float64],
    gt_bbox: NDArray[np.float64],
    gt_area: NDArray[np.float64],
    sigmas: NDArray[np.float64],
) -> NDArray[np.float64]:
    """OKS of paired keypoint sets: ``dt_kp[P, K, 3]``, ``gt_kp[P, K, 3]`` (x, y, visibility), ``gt_bbox[P, 4]``
    xywh, ``gt_area[P]`` → ``[P]`` float64."""
    P, K = gt_kp.shape[0], len(sigmas)
    if P == 0:
        return np.zeros(0)
    var = (sigmas * 2) ** 2  # [K]
    xg, yg, vg = gt_kp[..., 0], gt_kp[..., 1], gt_kp[..., 2]  # [P, K]
    xd, yd = dt_kp[..., 0], dt_kp[..., 1]
    visible = vg > 0
    k1 = visible.sum(axis=1)  # [P]
    x0 = (gt_bbox[:, 0] - gt_bbox[:, 2])[:, None]
    x1 = (gt_bbox[:, 0] + gt_bbox[:, 2] * 2)[:, None]
    y0 = (gt_bbox[:, 1] - gt_bbox[:, 3])[:, None]
    y1 = (gt_bbox[:, 1] + gt_bbox[:, 3] * 2)[:, None]
    none = (k1 == 0)[:, None]
    dx = np.where(none, np.maximum(0.0, x0 - xd) + np.maximum(0.0, xd - x1), xd - xg)  # [P, K]
    dy = np.where(none, np.maximum(0.0, y0 - yd) + np.maximum(0.0, yd - y1), yd - yg)
    e = (dx**2 + dy**2) / var / (gt_area[:, None] + np.spacing(1)) / 2
    ex = np.exp(-e)  # [P, K]
    out = np.empty(P)
    full = (k1 == 0) | (k1 == K)
    out[full] = np.sum(ex[full], axis=1) / K
    for n in np.unique(k1[~full]):  # rows with n visible keypoints: sum the compressed rows, as pycocotools
        rows = np.flatnonzero(k1 == n)
        cols = np.argsort(~visible[rows], axis=1, kind="stable")[:, :n]  # visible columns, in order
        out[rows] = np.sum(np.ascontiguousarray(np.take_along_axis(ex[rows], cols, axis=1)), axis=1) / n
    return out


class KeypointData:
    """Detections, keypoints of ground truth ``gt_kp[G, K, 3]`` and detections ``dt_kp[D, K, 3]``, the
    ``ignore[G]`` flag (crowd or no visible keypoint) and ``sigmas[K]``."""

    def __init__(
        self,
        det: Detections,
        gt: GroundTruth,
        gt_kp: NDArray[np.float64],
        dt_kp: NDArray[np.float64],
        ignore: NDArray[np.bool_],
        sigmas: NDArray[np.float64],
    ) -> None:
        self.det, self.gt, self.gt_kp, self.dt_kp, self.ignore, self.sigmas = det, gt, gt_kp, dt_kp, ignore, sigmas

    def pair_iou(self, d: NDArray[np.int64], g: NDArray[np.int64]) -> NDArray[np.float64]:
        return oks_pairs(self.dt_kp[d], self.gt_kp[g], self.gt.bbox[g], self.gt.area[g], self.sigmas)


def _keypoints(values: list, src: str, section: str, k: int) -> NDArray[np.float64]:
    return parse_floats(values, src, section, "keypoints", (3 * k,)).reshape(-1, k, 3)


def load_keypoints(
    gt_data: dict, gt: GroundTruth, dt: list | str | os.PathLike[str], gt_src: str, sigmas: NDArray[np.float64]
) -> KeypointData:
    """Keypoints of ground truth (validated ``gt_data`` behind ``gt``) and of the results ``dt``."""
    k = len(sigmas)
    anns = gt_data["annotations"]
    fields = ("id", "image_id", "category_id", "bbox", "area", "keypoints", "num_keypoints")
    gt_kp = _keypoints(column_of(anns, "keypoints", gt_src, "annotations", fields), gt_src, "annotations", k)
    num = parse_floats(column_of(anns, "num_keypoints", gt_src, "annotations", fields), gt_src, "annotations",
                  "num_keypoints", ())  # fmt: skip
    ignore = gt.iscrowd | (num == 0)

    data, src = source_of(dt, "detections", "<detections list>")
    if not isinstance(data, list):
        raise TypeError(f"{src} must be a list of result records, got {type(data).__name__}")
    fields = ("image_id", "category_id", "keypoints", "score")
    img, cat, score = result_keys(data, gt, src, fields)
    dt_kp = _keypoints(column_of(data, "keypoints", src, "results", fields), src, "results", k)  # [D, K, 3]
    if data and isinstance(data[0], dict) and data[0].get("bbox") not in (None, []):
        bbox = parse_boxes(column_of(data, "bbox", src, "results", ("bbox",)), src, "results")
        area = bbox[:, 2] * bbox[:, 3]  # loadRes' box branch
    else:
        x, y = dt_kp[..., 0], dt_kp[..., 1]
        lo_x, hi_x, lo_y, hi_y = (
            x.min(axis=1, initial=np.inf),
            x.max(axis=1, initial=-np.inf),
            y.min(axis=1, initial=np.inf),
            y.max(axis=1, initial=-np.inf),
        )
        bbox = np.stack([lo_x, lo_y, hi_x - lo_x, hi_y - lo_y], axis=1) if len(x) else np.zeros((0, 4))
        area = (hi_x - lo_x) * (hi_y - lo_y)  # loadRes' keypoint branch
    return KeypointData(Detections(img, cat, bbox, score, area), gt, gt_kp, dt_kp, ignore, sigmas)
