"""Argument checks shared by the augmentation modules (private).

Every public function of :mod:`dlprimer.augment` validates its input through these helpers so that bad
input raises one clear ``ValueError``/``TypeError`` naming the argument, what came and what is allowed.
Numbers, flags and choices go through :mod:`dlprimer._checks` (Python and NumPy scalars accepted;
``TypeError`` for a wrong type, ``ValueError`` for a wrong value); box tensors through
:mod:`dlprimer.boxes.checks`. This module adds the image checks and the seeded draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dlprimer._checks import check_float, check_probability
from dlprimer.boxes.checks import check_boxes as check_box_tensor

__all__ = [
    "bernoulli",
    "check_boxes",
    "check_color_channels",
    "check_image",
    "check_nonnegative",
    "check_probability",
    "check_range",
    "max_value",
    "randint",
    "uniform",
]


def check_image(image: object, name: str = "image", *, batched: bool | None = False) -> Tensor:
    """Check an image tensor: ``[C, H, W]`` (``batched=False``), ``[B, C, H, W]`` (``True``) or ``[..., C, H, W]``
    (``None``), dtype uint8 or floating point."""
    if not isinstance(image, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if batched is False and image.ndim != 3:
        raise ValueError(f"{name} must have shape [C, H, W] (rank 3), got rank {image.ndim} {tuple(image.shape)}")
    if batched is True and image.ndim != 4:
        raise ValueError(
            f"{name} must have shape [B, C, H, W] (rank 4), got rank {image.ndim} {tuple(image.shape)}"
        )
    if batched is None and image.ndim < 3:
        raise ValueError(
            f"{name} must have shape [..., C, H, W] (rank >= 3), got rank {image.ndim} {tuple(image.shape)}"
        )
    if image.dtype != torch.uint8 and not image.is_floating_point():
        raise ValueError(f"{name} must have dtype uint8 or a floating dtype, got {image.dtype}")
    if image.shape[-1] == 0 or image.shape[-2] == 0:
        raise ValueError(
            f"{name} must have height and width >= 1, got {image.shape[-2]}x{image.shape[-1]} (shape "
            f"{tuple(image.shape)})"
        )
    return image


def check_color_channels(image: Tensor, name: str = "image") -> None:
    """Colour operations need 1 (grey) or 3 (RGB) channels."""
    c = image.shape[-3]
    if c not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels for colour operations, got {c}")


def check_boxes(
    boxes: object,
    name: str = "boxes",
    *,
    canvas_size: tuple[int, int] | None = None,
    inside: bool = False,
    tol: float = 1e-3,
) -> Tensor:
    """Check ``[N, 4]`` xyxy boxes with ``x1 <= x2``, ``y1 <= y2``; with ``inside=True`` also inside
    ``[0, W] x [0, H]`` of ``canvas_size = (H, W)`` (up to ``tol`` pixels)."""
    boxes = check_box_tensor(boxes, name, ndim=2)  # Tensor[N, 4], real, finite, x1 <= x2 and y1 <= y2
    if boxes.numel() == 0:
        return boxes
    b = boxes if boxes.is_floating_point() else boxes.double()
    if inside and canvas_size is not None:
        h, w = canvas_size
        outside = (b[:, 0] < -tol) | (b[:, 1] < -tol) | (b[:, 2] > w + tol) | (b[:, 3] > h + tol)
        if bool(outside.any()):
            bad = int(outside.nonzero()[0, 0])
            raise ValueError(
                f"{name} must lie inside the image [0, {w}] x [0, {h}] (W x H); box {bad} is {b[bad].tolist()}"
            )
    return boxes


def check_range(
    value: object,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    allow_equal: bool = True,
    ordered: bool = True,
) -> tuple[float, float]:
    """A ``(lo, hi)`` pair with ``low <= lo <= hi <= high`` (``lo < hi`` unless ``allow_equal``; with
    ``ordered=False`` any two numbers within ``[low, high]``)."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{name} must be a (min, max) pair, got {type(value).__name__} {value!r:.80}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a (min, max) pair, got {len(value)} values {value!r:.80}")
    lo, hi = (check_float(v, f"{name}[{i}]") for i, v in enumerate(value))
    if ordered and (lo > hi or (not allow_equal and lo == hi)):
        raise ValueError(f"{name} must be a finite (min, max) pair with min <= max, got {value!r}")
    if min(lo, hi) < low or max(lo, hi) > high:
        raise ValueError(f"{name} must lie within [{low}, {high}], got {value!r}")
    return lo, hi


def check_nonnegative(value: object, name: str) -> float:
    """A finite number ``>= 0``."""
    return check_float(value, name, low=0.0)


def max_value(dtype: torch.dtype) -> float:
    """The value of full intensity: 255 for uint8, 1.0 for floats."""
    return 255.0 if dtype == torch.uint8 else 1.0


def uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    """One draw from U(low, high) on the CPU generator."""
    return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))


def randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """One integer draw from ``[low, high]`` inclusive."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def bernoulli(p: float, generator: torch.Generator | None) -> bool:
    """True with probability ``p`` (``p = 0`` is never true, ``p = 1`` always)."""
    return float(torch.rand((), generator=generator, dtype=torch.float64)) < p
