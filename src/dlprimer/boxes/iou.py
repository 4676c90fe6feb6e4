"""Pairwise IoU, GIoU, DIoU and CIoU between two sets of xyxy boxes (notes: "IOU的介绍及其变形介绍").

All four take ``boxes1: Tensor[..., N, 4]`` and ``boxes2: Tensor[..., M, 4]`` (xyxy, ``x2 >= x1``,
``y2 >= y1``; leading batch dimensions must match) and return ``Tensor[..., N, M]``. They use
torchvision's names, formulas and ``eps`` placement, so results equal ``torchvision.ops`` wherever
torchvision's are finite. Where torchvision divides by zero we define the value instead:

* **IoU** = ``|A ∩ B| / |A ∪ B|``, and 0 when the union is 0 (two zero-area boxes; torchvision: NaN).
* **GIoU** = ``IoU - |C \\ (A ∪ B)| / |C|`` with ``C`` the smallest enclosing box (Rezatofighi et al.,
  CVPR 2019); the penalty is 0 when ``|C| = 0``. Range ``[-1, 1]``.
* **DIoU** = ``IoU - ρ²(centres) / (c² + eps)`` with ``c`` the diagonal of ``C`` (Zheng et al., AAAI 2020);
  the penalty is 0 when its denominator is 0 (``eps = 0`` and both boxes the same point).
* **CIoU** = ``DIoU - α v`` with ``v = 4/π² (atan(w1/h1) - atan(w2/h2))²`` and
  ``α = v / (1 - IoU + v + eps)`` taken as a constant (no gradient), as torchvision and the paper do.
  ``atan(w/h)`` is evaluated as ``atan2(w, h)`` (equal for ``h > 0``, ``π/2`` for ``h = 0``, finite
  gradients); a box with ``w = h = 0`` has no aspect ratio and its ``v`` is 0 (torchvision: NaN).

The notes write DIoU/CIoU without ``eps``; torchvision's ``eps = 1e-7`` default is kept for parity.
Half precision, bfloat16 and integer boxes are computed and returned in float32 (as torchvision's
``_upcast`` does); float32 and float64 stay as they are. Gradients are finite everywhere on valid boxes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dlprimer.boxes.checks import check_boxes, check_number, compute_dtype

__all__ = ["aspect_term", "box_iou", "complete_box_iou", "distance_box_iou", "generalized_box_iou", "safe_div"]


def _prepare(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    boxes1 = check_boxes(boxes1, "boxes1")
    boxes2 = check_boxes(boxes2, "boxes2")
    if boxes1.ndim < 2 or boxes2.ndim < 2:
        raise ValueError(
            f"boxes1 and boxes2 must have shape [..., N, 4] and [..., M, 4], got {tuple(boxes1.shape)} "
            f"and {tuple(boxes2.shape)}"
        )
    if boxes1.shape[:-2] != boxes2.shape[:-2]:
        raise ValueError(
            f"boxes1 and boxes2 must have the same leading (batch) dimensions, got {tuple(boxes1.shape)} "
            f"and {tuple(boxes2.shape)}"
        )
    if boxes1.device != boxes2.device:
        raise ValueError(f"boxes1 and boxes2 must be on the same device, got {boxes1.device} and {boxes2.device}")
    dtype = torch.promote_types(compute_dtype(boxes1), compute_dtype(boxes2))
    return boxes1.to(dtype), boxes2.to(dtype)


def safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den != 0``, else 0 — with finite gradients on both branches."""
    ok = den != 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def _inter_union(b1: Tensor, b2: Tensor) -> tuple[Tensor, Tensor]:
    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])  # [..., N]
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])  # [..., M]
    lt = torch.max(b1[..., :, None, :2], b2[..., None, :, :2])  # [..., N, M, 2]
    rb = torch.min(b1[..., :, None, 2:], b2[..., None, :, 2:])  # [..., N, M, 2]
    wh = (rb - lt).clamp(min=0)  # [..., N, M, 2]
    inter = wh[..., 0] * wh[..., 1]  # [..., N, M]
    union = area1[..., :, None] + area2[..., None, :] - inter  # [..., N, M]
    return inter, union


def _enclosing_wh(b1: Tensor, b2: Tensor) -> Tensor:
    lt = torch.min(b1[..., :, None, :2], b2[..., None, :, :2])  # [..., N, M, 2]
    rb = torch.max(b1[..., :, None, 2:], b2[..., None, :, 2:])  # [..., N, M, 2]
    return (rb - lt).clamp(min=0)  # [..., N, M, 2]


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU ``Tensor[..., N, M]`` in ``[0, 1]``; 0 where the union is 0 (see module docstring)."""
    b1, b2 = _prepare(boxes1, boxes2)
    inter, union = _inter_union(b1, b2)
    return safe_div(inter, union)


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise GIoU ``Tensor[..., N, M]`` in ``[-1, 1]``: ``IoU - (|C| - |A ∪ B|) / |C|``."""
    b1, b2 = _prepare(boxes1, boxes2)
    inter, union = _inter_union(b1, b2)
    iou = safe_div(inter, union)
    whc = _enclosing_wh(b1, b2)  # [..., N, M, 2]
    area_c = whc[..., 0] * whc[..., 1]  # [..., N, M]
    return iou - safe_div(area_c - union, area_c)


def _diou_iou(b1: Tensor, b2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    inter, union = _inter_union(b1, b2)
    iou = safe_div(inter, union)
    whc = _enclosing_wh(b1, b2)
    diag2 = whc[..., 0] ** 2 + whc[..., 1] ** 2 + eps  # [..., N, M]
    c1 = (b1[..., :2] + b1[..., 2:]) / 2  # [..., N, 2]
    c2 = (b2[..., :2] + b2[..., 2:]) / 2  # [..., M, 2]
    d = c1[..., :, None, :] - c2[..., None, :, :]  # [..., N, M, 2]
    rho2 = d[..., 0] ** 2 + d[..., 1] ** 2  # [..., N, M]
    return iou - safe_div(rho2, diag2), iou


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise DIoU ``Tensor[..., N, M]`` in ``(-1, 1]``: ``IoU - ρ² / (c² + eps)``."""
    eps = check_number(eps, "eps", low=0.0)
    b1, b2 = _prepare(boxes1, boxes2)
    return _diou_iou(b1, b2, eps)[0]


def aspect_term(w1: Tensor, h1: Tensor, w2: Tensor, h2: Tensor) -> Tensor:
    """CIoU's ``v = 4/π² (atan(w1/h1) - atan(w2/h2))²``, broadcast; 0 where either box has ``w = h = 0``."""
    deg1 = (w1 == 0) & (h1 == 0)
    deg2 = (w2 == 0) & (h2 == 0)
    one = torch.ones_like
    a1 = torch.atan2(torch.where(deg1, one(w1), w1), torch.where(deg1, one(h1), h1))
    a2 = torch.atan2(torch.where(deg2, one(w2), w2), torch.where(deg2, one(h2), h2))
    v = (4 / math.pi**2) * (a1 - a2) ** 2
    return torch.where(deg1 | deg2, torch.zeros_like(v), v)


def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise CIoU ``Tensor[..., N, M]``: ``DIoU - α v`` with ``α`` detached (see module docstring)."""
    eps = check_number(eps, "eps", low=0.0)
    b1, b2 = _prepare(boxes1, boxes2)
    diou, iou = _diou_iou(b1, b2, eps)
    w1 = (b1[..., 2] - b1[..., 0])[..., :, None]  # [..., N, 1]
    h1 = (b1[..., 3] - b1[..., 1])[..., :, None]
    w2 = (b2[..., 2] - b2[..., 0])[..., None, :]  # [..., 1, M]
    h2 = (b2[..., 3] - b2[..., 1])[..., None, :]
    v = aspect_term(w1, h1, w2, h2)  # [..., N, M]
    with torch.no_grad():
        alpha = safe_div(v, 1 - iou + v + eps)
    return diou - alpha * v
