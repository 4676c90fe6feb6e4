"""Argument checks shared by the ops: every bad input becomes a ValueError/TypeError that names it."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlprimer.scratch.autograd import Tensor, as_tensor


def float_tensor(x: Any, name: str) -> Tensor:
    """Wrap ``x`` as a Tensor and require a floating dtype (``TypeError`` otherwise)."""
    t = as_tensor(x)
    if not np.issubdtype(t.dtype, np.floating):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype} (shape {t.shape})")
    return t


def optional_float(x: Any, name: str) -> Tensor | None:
    return None if x is None else float_tensor(x, name)


def check_ndim(t: Tensor, name: str, allowed: tuple[int, ...], layout: str) -> None:
    if t.ndim not in allowed:
        raise ValueError(f"{name} must be {layout} ({'/'.join(map(str, allowed))}-D), got shape {t.shape}")


def pair(value: Any, name: str, minimum: int = 0) -> tuple[int, int]:
    """``3 → (3, 3)``; ``(2, 3) → (2, 3)``; each an int ≥ ``minimum``."""
    items = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{name} must be ≥ {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")
