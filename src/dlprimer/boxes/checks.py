"""Tensor checks for boxes and scores, public because :mod:`dlprimer.nn` (the IoU losses) and
:mod:`dlprimer.augment` use them too.

Every public function validates its arguments here and raises ``TypeError`` / ``ValueError`` naming the
argument, what was received and what is allowed; numbers go through :mod:`dlprimer._checks` (Python and
NumPy scalars accepted, ``TypeError`` for a wrong type, ``ValueError`` for a wrong value).
The checks that look at values (NaN, ``x2 < x1``) are
one reduction each, so they cost little next to the work they protect.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import check_choice, check_float

__all__ = [
    "check_boxes",
    "check_number",
    "check_reduction",
    "check_same_shape",
    "check_scores",
    "check_tensor",
    "compute_dtype",
]



def compute_dtype(t: Tensor) -> torch.dtype:
    """The dtype we compute in: float32/float64 as given; half, bfloat16 and integers are upcast to float32."""
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


def check_tensor(t: object, name: str) -> Tensor:
    """A real (floating or integer) ``torch.Tensor``."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must be a real (floating or integer) tensor, got dtype {t.dtype}")
    return t


def check_boxes(boxes: object, name: str, *, valid: bool = True, ndim: int | None = None) -> Tensor:
    """Check ``boxes`` is a ``Tensor[..., 4]`` of finite coordinates (NaN and ``±inf`` rejected); with ``valid``
    also ``x2 >= x1`` and ``y2 >= y1``."""
    boxes = check_tensor(boxes, name)
    if ndim is not None and (boxes.ndim != ndim or boxes.shape[-1] != 4):
        want = "[N, 4]" if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"{name} must have shape {want} (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape [..., 4] (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    if boxes.numel() == 0:
        return boxes
    if boxes.is_floating_point() and not bool(torch.isfinite(boxes).all()):
        raise ValueError(f"{name} contains NaN or inf coordinates; all coordinates must be finite numbers")
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
    """A real number (Python/NumPy scalar, or a one-element tensor) within ``[low, high]`` (``(low, high]``
    with ``low_open``); ``±inf`` is allowed where the bounds allow it, NaN never."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool:
        value = value.item()
    return check_float(value, name, low=low, high=high, low_open=low_open, finite=False)


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    """Two tensors of one shape."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def check_reduction(reduction: object, allowed: tuple[str, ...]) -> str:
    """``reduction`` is one of ``allowed`` (``"none"``, ``"mean"``, ``"sum"``)."""
    return check_choice(reduction, "reduction", allowed)
