"""Box formats and conversions (torchvision's ``box_convert`` conventions).

Formats, each a ``Tensor[..., 4]``:

* ``xyxy``   – corners ``(x1, y1, x2, y2)``; the format every other function in :mod:`dlprimer.boxes` takes.
* ``xywh``   – top-left corner and size ``(x1, y1, w, h)`` (COCO annotations).
* ``cxcywh`` – centre and size ``(cx, cy, w, h)`` (YOLO labels, DETR).

Conversions go through ``xyxy`` with the same arithmetic as torchvision (``cx - 0.5 * w`` etc.), so
results equal ``torchvision.ops.box_convert`` bit for bit. Registries, not if-chains: add a format by
adding a ``(to_xyxy, from_xyxy)`` pair to :data:`FORMATS`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from dlprimer._checks import check_int_pair
from dlprimer.boxes.checks import check_boxes, compute_dtype

__all__ = ["FORMATS", "box_area", "box_convert", "clip_boxes_to_image"]


def _identity(b: Tensor) -> Tensor:
    return b


def _xywh_to_xyxy(b: Tensor) -> Tensor:
    x, y, w, h = b.unbind(-1)
    return torch.stack((x, y, x + w, y + h), dim=-1)


def _xyxy_to_xywh(b: Tensor) -> Tensor:
    x1, y1, x2, y2 = b.unbind(-1)
    return torch.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def _cxcywh_to_xyxy(b: Tensor) -> Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def _xyxy_to_cxcywh(b: Tensor) -> Tensor:
    x1, y1, x2, y2 = b.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


#: name -> (to_xyxy, from_xyxy)
FORMATS: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "xyxy": (_identity, _identity),
    "xywh": (_xywh_to_xyxy, _xyxy_to_xywh),
    "cxcywh": (_cxcywh_to_xyxy, _xyxy_to_cxcywh),
}


def _check_fmt(fmt: object, name: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, FORMATS))}, got {fmt!r}")
    return str(fmt)


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert ``boxes`` (``Tensor[..., 4]``) from ``in_fmt`` to ``out_fmt``; same dtype and device.

    Returns the input itself when the formats are equal (as torchvision does). Widths and heights may be
    negative on input: conversion is pure arithmetic and does not validate boxes.
    """
    in_fmt = _check_fmt(in_fmt, "in_fmt")
    out_fmt = _check_fmt(out_fmt, "out_fmt")
    boxes = check_boxes(boxes, "boxes", valid=False)
    if in_fmt == out_fmt:
        return boxes
    return FORMATS[out_fmt][1](FORMATS[in_fmt][0](boxes))


def box_area(boxes: Tensor, fmt: str = "xyxy") -> Tensor:
    """Area ``(x2 - x1) * (y2 - y1)`` of each box: ``Tensor[..., 4]`` -> ``Tensor[...]``.

    Dtypes as torchvision's ``box_area`` (its ``_upcast``): half precision and bfloat16 are computed in
    float32, integers in int32 (int64 stays int64), so integer areas are exact; float32/float64 stay.
    """
    fmt = _check_fmt(fmt, "fmt")
    boxes = check_boxes(boxes, "boxes", valid=False)
    if boxes.is_floating_point():
        boxes = boxes.to(compute_dtype(boxes))
    elif boxes.dtype not in (torch.int32, torch.int64):
        boxes = boxes.int()
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clamp xyxy ``boxes`` (``Tensor[..., 4]``) to the image ``[0, W] x [0, H]``, ``size = (H, W)``.

    Returns a new tensor of the same shape and dtype; equals ``torchvision.ops.clip_boxes_to_image``. A box
    entirely outside becomes a zero-width or zero-height box (not dropped). The one box-clipping function
    of dlprimer: :mod:`dlprimer.augment` clips through it.
    """
    h, w = check_int_pair(size, "size", low=0)
    boxes = check_boxes(boxes, "boxes", valid=False)
    x = boxes[..., 0::2].clamp(min=0, max=w)  # [..., 2]  x1, x2
    y = boxes[..., 1::2].clamp(min=0, max=h)  # [..., 2]  y1, y2
    return torch.stack((x, y), dim=-1).reshape(boxes.shape)
