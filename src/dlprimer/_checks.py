"""The one argument-check policy of dlprimer (NumPy only; never imports torch).

Every public function that takes a number, a flag or a choice validates it here, so every package answers
bad input the same way:

* Python and NumPy scalars of the right kind are accepted everywhere (``np.float32(0.5)`` where a float is
  expected, ``np.int64(10)`` where an int is expected) and come back as plain ``float``/``int``/``bool``.
  An integer is a valid float; a float is never a valid int, not even ``3.0``; ``bool`` is never a number.
* A wrong **type** raises ``TypeError``; a wrong **value** (out of range, not finite, not one of the
  choices) raises ``ValueError``. Either message names the argument, what came and what is allowed:
  ``lr must be a finite number > 0, got -1.0``.

Package-level ``_checks`` modules (tensors in ``boxes``/``augment``, arrays in ``scratch``) build on these
and add the checks of their own data types.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_int_pair",
    "check_probability",
    "check_type",
    "is_float_like",
    "is_int_like",
]

T = TypeVar("T")


def _bound_text(
    low: float | None, high: float | None, low_open: bool, high_open: bool
) -> str:
    def fmt(v: float) -> str:  # integers in full (4294967295, not 4.29497e+09)
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else f"{v:g}"

    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {fmt(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {fmt(high)}")
    return " and ".join(parts)


def is_int_like(value: object) -> bool:
    """True for Python/NumPy integers (not ``bool``/``np.bool_``)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_float_like(value: object) -> bool:
    """True for Python/NumPy real numbers, integers included (not ``bool``/``np.bool_``)."""
    return (isinstance(value, (numbers.Real, np.floating)) or is_int_like(value)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_type(value: object, name: str, types: type | tuple[type, ...], what: str | None = None) -> Any:
    """``TypeError`` unless ``isinstance(value, types)``; ``what`` describes the allowed types in the message."""
    if not isinstance(value, types):
        if what is None:
            ts = types if isinstance(types, tuple) else (types,)
            what = " or ".join(t.__name__ for t in ts)
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r:.80}")
    return value


def check_float(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
) -> float:
    """A real number (Python/NumPy float or int), optionally within ``[low, high]`` (``low_open``/``high_open``
    make the bound strict). Returns a Python ``float``."""
    if not is_float_like(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.80}")
    x = float(value)  # type: ignore[arg-type]
    bounds = _bound_text(low, high, low_open, high_open)
    allowed = "a finite number" if finite else "a number"
    if bounds:
        allowed += f" {bounds}"
    if math.isnan(x) or (finite and math.isinf(x)):
        raise ValueError(f"{name} must be {allowed}, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {allowed}, got {x:g}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {allowed}, got {x:g}")
    return x


def check_int(
    value: object,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """An integer (Python/NumPy int, never bool or float) within ``[low, high]``. Returns a Python ``int``."""
    if not is_int_like(value):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r:.80}")
    i = int(value)  # type: ignore[arg-type]
    if (low is not None and i < low) or (high is not None and i > high):
        raise ValueError(f"{name} must be an integer {_bound_text(low, high, False, False)}, got {i}")
    return i


def check_bool(value: object, name: str) -> bool:
    """A Python or NumPy bool. Returns a Python ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r:.80}")
    return bool(value)


def check_probability(value: object, name: str = "p") -> float:
    """A probability in ``[0, 1]``."""
    return check_float(value, name, low=0.0, high=1.0)


def check_choice(value: object, name: str, choices: Iterable[T]) -> T:
    """One of ``choices`` (strings are compared case-sensitively). ``TypeError`` when the type differs from
    every choice's type, ``ValueError`` listing the choices otherwise."""
    options = list(choices)
    if value in options:
        return value  # type: ignore[return-value]
    if options and not any(isinstance(value, type(o)) for o in options):
        kinds = sorted({type(o).__name__ for o in options})
        raise TypeError(f"{name} must be a {' or '.join(kinds)}, got {type(value).__name__} {value!r:.80}")
    listed = ", ".join(repr(o) for o in options)
    raise ValueError(f"{name} must be one of {listed}; got {value!r:.80}")


def check_int_pair(value: object, name: str, *, low: int | None = None) -> tuple[int, int]:
    """An int or a sequence of two ints (``kernel_size=3`` or ``(3, 5)``), each ``>= low``."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {len(value)} values {tuple(value)!r:.80}")
        return (check_int(value[0], f"{name}[0]", low=low), check_int(value[1], f"{name}[1]", low=low))
    i = check_int(value, name, low=low)
    return (i, i)
