"""Argument handling shared by ``roi_align`` and ``roi_pool`` (torchvision's ``boxes`` conventions)."""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.boxes.checks import check_number, check_tensor


def output_hw(output_size: object) -> tuple[int, int]:
    """``int`` or ``(h, w)`` -> ``(h, w)`` of positive ints."""
    size = (output_size, output_size) if is_int_like(output_size) else output_size
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(is_int_like(v) and v > 0 for v in size)
    ):
        raise ValueError(f"output_size must be a positive int or a pair (height, width) of them, got {output_size!r}")
    return int(size[0]), int(size[1])


def check_input(input: object) -> Tensor:
    input = check_tensor(input, "input")
    if input.ndim != 4:
        raise ValueError(f"input must have shape [N, C, H, W], got shape {tuple(input.shape)}")
    if not input.is_floating_point():
        raise TypeError(f"input must be a floating tensor, got dtype {input.dtype}")
    return input


def to_rois(boxes: object, input: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``Tensor[K, 5]`` (batch index, x1, y1, x2, y2) or ``list[Tensor[L, 4]]`` -> ``(batch [K] int64, xyxy [K, 4])``.

    The batch index must be an integer in ``[0, N)``; coordinates must not be NaN. Malformed boxes
    (``x2 < x1``) are allowed: the ROI ops define them as torchvision does. Boxes get no gradient.
    """
    n = input.shape[0]
    if isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            b = check_tensor(b, f"boxes[{i}]")
            if b.ndim != 2 or b.shape[1] != 4:
                raise ValueError(f"boxes[{i}] must have shape [L, 4], got shape {tuple(b.shape)}")
            parts.append(b)
        if len(parts) > n:
            raise ValueError(f"boxes is a list of {len(parts)} tensors but input has batch size {n}")
        xyxy = torch.cat([p.to(dtype) for p in parts]) if parts else input.new_zeros((0, 4), dtype=dtype)
        batch = (
            torch.cat([torch.full((p.shape[0],), i, dtype=torch.long) for i, p in enumerate(parts)])
            if parts
            else torch.zeros(0, dtype=torch.long)
        )
        batch = batch.to(input.device)
    elif isinstance(boxes, Tensor):
        check_tensor(boxes, "boxes")
        if boxes.ndim != 2 or boxes.shape[1] != 5:
            raise ValueError(
                f"boxes must be a Tensor[K, 5] (batch index, x1, y1, x2, y2) or a list of Tensor[L, 4], "
                f"got shape {tuple(boxes.shape)}"
            )
        idx = boxes[:, 0]
        if boxes.numel() and bool(((idx != torch.round(idx)) | (idx < 0) | (idx >= n)).any()):
            raise ValueError(f"boxes[:, 0] must hold integer batch indices in [0, {n - 1}], got {idx.tolist()[:8]}")
        batch = idx.long()
        xyxy = boxes[:, 1:].to(dtype)
    else:
        raise TypeError(f"boxes must be a Tensor[K, 5] or a list of Tensor[L, 4], got {type(boxes).__name__}")
    if xyxy.device != input.device:
        raise ValueError(f"boxes must be on the same device as input ({input.device}), got {xyxy.device}")
    if xyxy.numel() and bool(torch.isnan(xyxy).any()):
        raise ValueError("boxes contain NaN coordinates")
    return batch, xyxy.detach()


def check_scale(spatial_scale: object) -> float:
    return check_number(spatial_scale, "spatial_scale", low=0.0, low_open=True)
