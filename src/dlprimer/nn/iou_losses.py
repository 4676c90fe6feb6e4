"""Elementwise IoU-family box regression losses: ``iou_loss``, ``giou_loss``, ``diou_loss``, ``ciou_loss``.

Notes: "IOU的介绍及其变形介绍" (``L = 1 - IoU``, ``1 - GIoU``, ``1 - DIoU``, ``1 - CIoU``). Each takes
``boxes1`` (predictions) and ``boxes2`` (targets), both ``Tensor[..., 4]`` of the same shape in xyxy with
``x2 >= x1`` and ``y2 >= y1`` (decode predictions before calling), and returns the loss per box pair
(``reduction="none"``), its mean or its sum. Formulas and ``eps`` placement follow torchvision's
``generalized_box_iou_loss`` / ``distance_box_iou_loss`` / ``complete_box_iou_loss`` (the intersection
counts only where the boxes overlap with positive width and height), so values equal torchvision's
wherever torchvision's are finite:

* ``IoU = |A ∩ B| / (|A ∪ B| + eps)``                        ``iou_loss  = 1 - IoU`` (its ``eps`` defaults to 0)
* ``giou_loss = 1 - IoU + (|C| - |A ∪ B|) / (|C| + eps)``      (``C``: smallest enclosing box)
* ``diou_loss = 1 - IoU + ρ² / (c² + eps)``                   (``ρ``: centre distance, ``c``: C's diagonal)
* ``ciou_loss = diou_loss + α v``, ``v = 4/π² (atan(w_gt/h_gt) - atan(w/h))²``,
  ``α = v / (1 - IoU + v + eps)`` held constant (no gradient through ``α``; Zheng et al. 2020).

Degenerate inputs (yolov5 #2376, torchvision #3404/#7746) give finite values *and* finite gradients:
a ratio whose denominator is 0 (only possible with ``eps = 0``: empty union, zero enclosing box or
diagonal) contributes 0, and the aspect term uses ``atan2(w, h)`` with ``v = 0`` for a box with
``w = h = 0`` (torchvision: NaN). One deliberate difference: torchvision's ``complete_box_iou_loss``
ignores its ``eps`` for the IoU and distance terms (it always uses 1e-7 there); we use the given ``eps``
throughout, so results agree at the default ``eps = 1e-7``.

Half precision and bfloat16 are computed and returned in float32 (torchvision does the same);
``reduction="mean"`` of an empty input is a zero that still backpropagates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from dlprimer.boxes.checks import check_boxes, check_number, check_reduction, check_same_shape, compute_dtype
from dlprimer.boxes.iou import aspect_term, safe_div

__all__ = ["REDUCTIONS", "ciou_loss", "diou_loss", "giou_loss", "iou_loss", "reduce_loss"]


_CIOU_DIOU_EPS = 1e-7  # torchvision's complete_box_iou_loss: its DIoU part keeps the default eps


def _mean(loss: Tensor) -> Tensor:
    return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()


#: reduction name -> function applied to the elementwise loss
REDUCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "none": lambda loss: loss,
    "mean": _mean,
    "sum": torch.sum,
}


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` (``"none"`` | ``"mean"`` | ``"sum"``) to an elementwise loss."""
    return REDUCTIONS[check_reduction(reduction, tuple(REDUCTIONS))](loss)


def _prepare(boxes1: Tensor, boxes2: Tensor, reduction: str, eps: float) -> tuple[Tensor, Tensor, float]:
    boxes1 = check_boxes(boxes1, "boxes1")
    boxes2 = check_boxes(boxes2, "boxes2")
    check_same_shape(boxes1, boxes2, "boxes1", "boxes2")
    check_reduction(reduction, tuple(REDUCTIONS))
    eps = check_number(eps, "eps", low=0.0)
    dtype = torch.promote_types(compute_dtype(boxes1), compute_dtype(boxes2))
    return boxes1.to(dtype), boxes2.to(dtype), eps


def _iou_parts(b1: Tensor, b2: Tensor, eps: float) -> dict[str, Tensor]:
    """Elementwise pieces shared by the losses; every tensor has shape ``[...]``."""
    x1, y1, x2, y2 = b1.unbind(-1)
    x1g, y1g, x2g, y2g = b2.unbind(-1)
    iw = torch.min(x2, x2g) - torch.max(x1, x1g)
    ih = torch.min(y2, y2g) - torch.max(y1, y1g)
    overlap = (iw > 0) & (ih > 0)
    inter = torch.where(overlap, iw * ih, torch.zeros_like(iw))  # zero gradient where boxes only touch
    w, h, wg, hg = x2 - x1, y2 - y1, x2g - x1g, y2g - y1g
    union = w * h + wg * hg - inter
    iou = safe_div(inter, union + eps)
    cw = torch.max(x2, x2g) - torch.min(x1, x1g)  # enclosing box
    ch = torch.max(y2, y2g) - torch.min(y1, y1g)
    return {
        "iou": iou,
        "union": union,
        "cw": cw,
        "ch": ch,
        "w": w,
        "h": h,
        "wg": wg,
        "hg": hg,
        "dx": (x2 + x1) / 2 - (x1g + x2g) / 2,
        "dy": (y2 + y1) / 2 - (y1g + y2g) / 2,
    }


def _diou(p: dict[str, Tensor], eps: float) -> Tensor:
    diag2 = p["cw"] ** 2 + p["ch"] ** 2 + eps
    rho2 = p["dx"] ** 2 + p["dy"] ** 2
    return 1 - p["iou"] + safe_div(rho2, diag2)


def iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 0.0) -> Tensor:
    """``1 - IoU`` per box pair, ``IoU = |A ∩ B| / (|A ∪ B| + eps)`` (0 if the denominator is 0).

    torchvision has no plain IoU loss; the default ``eps = 0`` makes this exactly
    ``1 - torchvision.ops.box_iou(boxes1, boxes2).diagonal()`` wherever that is finite (an empty union is
    already defined as IoU 0, so no ``eps`` is needed for finiteness).
    """
    b1, b2, eps = _prepare(boxes1, boxes2, reduction, eps)
    return reduce_loss(1 - _iou_parts(b1, b2, eps)["iou"], reduction)


def giou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` per box pair (torchvision ``generalized_box_iou_loss``); values in ``[0, 2]``."""
    b1, b2, eps = _prepare(boxes1, boxes2, reduction, eps)
    p = _iou_parts(b1, b2, eps)
    area_c = p["cw"] * p["ch"]
    return reduce_loss(1 - p["iou"] + safe_div(area_c - p["union"], area_c + eps), reduction)


def diou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - DIoU`` per box pair (torchvision ``distance_box_iou_loss``)."""
    b1, b2, eps = _prepare(boxes1, boxes2, reduction, eps)
    return reduce_loss(_diou(_iou_parts(b1, b2, eps), eps), reduction)


def ciou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - CIoU`` per box pair (torchvision ``complete_box_iou_loss``), ``α`` without gradient.

    As in torchvision, ``eps`` only enters ``α = v / (1 - IoU + v + eps)``: the IoU and DIoU parts always
    use ``eps = 1e-7`` (torchvision calls its DIoU helper without passing ``eps`` on).
    """
    b1, b2, eps = _prepare(boxes1, boxes2, reduction, eps)
    p = _iou_parts(b1, b2, _CIOU_DIOU_EPS)
    v = aspect_term(p["wg"], p["hg"], p["w"], p["h"])
    with torch.no_grad():
        alpha = safe_div(v, 1 - p["iou"] + v + eps)
    return reduce_loss(_diou(p, _CIOU_DIOU_EPS) + alpha * v, reduction)
