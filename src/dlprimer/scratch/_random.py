"""The engine's default random-number generator (NumPy ``Generator``), used by init and dropout when the
caller passes none. ``manual_seed(s)`` makes every later draw reproducible (the analogue of
``torch.manual_seed``; the streams themselves differ from torch's)."""

from __future__ import annotations

import numpy as np

from dlprimer._checks import is_int_like

_GENERATOR: np.random.Generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator and return it."""
    global _GENERATOR
    if not is_int_like(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _GENERATOR = np.random.default_rng(int(seed))
    return _GENERATOR


def default_generator() -> np.random.Generator:
    """The current default generator."""
    return _GENERATOR


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator`` if given (type-checked), else the default one."""
    if generator is None:
        return _GENERATOR
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator or None, got {type(generator).__name__}")
    return generator
