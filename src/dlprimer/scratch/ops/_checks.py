"""Array checks shared by the ops: every bad input becomes a ValueError/TypeError that names it.

Numbers and choices go through :mod:`dlprimer._checks` (NumPy only: Python and NumPy scalars accepted,
``TypeError`` for a wrong type, ``ValueError`` for a wrong value); this module adds the tensor checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlprimer._checks import check_choice, check_int_pair
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
    if isinstance(value, np.ndarray):
        value = tuple(value.tolist()) if value.ndim == 1 else value.item() if value.ndim == 0 else value
    return check_int_pair(value, name, low=minimum)


def check_reduction(reduction: str) -> None:
    check_choice(reduction, "reduction", ("none", "mean", "sum"))


def same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")
