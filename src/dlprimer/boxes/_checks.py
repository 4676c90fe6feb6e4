"""Input validation shared by :mod:`dlprimer.boxes` and the IoU losses.

Every public function validates its arguments here and raises ``TypeError`` / ``ValueError`` naming the
argument, what was received and what is allowed. The checks that look at values (NaN, ``x2 < x1``) are
one reduction each, so they cost little next to the work they protect.
"""

from __future__ import annotations

import math
import numbers

import torch
from numpy import bool_ as np_bool
from torch import Tensor

_FLOAT_TYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def compute_dtype(t: Tensor) -> torch.dtype:
    """The dtype we compute in: float32/float64 as given; half, bfloat16 and integers are upcast to float32."""
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


def check_tensor(t: object, name: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must be a real (floating or integer) tensor, got dtype {t.dtype}")
    return t


def check_boxes(boxes: object, name: str, *, valid: bool = True, ndim: int | None = None) -> Tensor:
    """Check ``boxes`` is a ``Tensor[..., 4]`` without NaN; with ``valid`` also ``x2 >= x1`` and ``y2 >= y1``."""
    boxes = check_tensor(boxes, name)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape [..., 4] (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    if ndim is not None and boxes.ndim != ndim:
        want = "[N, 4]" if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"{name} must have shape {want}, got shape {tuple(boxes.shape)}")
    if boxes.numel() == 0:
        return boxes
    if boxes.is_floating_point() and bool(torch.isnan(boxes).any()):
        raise ValueError(f"{name} contains NaN coordinates; all coordinates must be numbers")
    if valid:
        bad = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
        if bool(bad.any()):
            first = int(torch.nonzero(bad.reshape(-1))[0])
            row = boxes.reshape(-1, 4)[first].tolist()
            raise ValueError(f"{name} must be valid xyxy boxes with x2 >= x1 and y2 >= y1; box {first} is {row}")
    return boxes


def check_scores(scores: object, name: str, n: int) -> Tensor:
    """Check ``scores`` is a floating ``Tensor[n]`` without NaN."""
    scores = check_tensor(scores, name)
    if scores.ndim != 1 or scores.shape[0] != n:
        raise ValueError(f"{name} must have shape [{n}] (one per box), got shape {tuple(scores.shape)}")
    if scores.is_floating_point() and n and bool(torch.isnan(scores).any()):
        raise ValueError(f"{name} contains NaN; scores must be numbers")
    return scores


def check_number(
    value: object, name: str, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> float:
    """Check ``value`` is a finite real number within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, (bool, np_bool)) or not isinstance(value, numbers.Real):  # numpy scalars are Real
        if isinstance(value, Tensor) and value.numel() == 1:
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got nan")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def check_reduction(reduction: object, allowed: tuple[str, ...]) -> str:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return str(reduction)
