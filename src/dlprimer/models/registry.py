"""Model registry: every model registers a builder under its torchvision-style lower-case name.

>>> from dlprimer import models
>>> net = models.create("lenet5", num_classes=10, in_channels=1)
>>> "lenet5" in models.list_models()
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

Builder = Callable[..., nn.Module]
F = TypeVar("F", bound=Builder)

_MODELS: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[F], F]:
    """Decorator that registers ``builder(num_classes=..., in_channels=..., **kw) -> nn.Module``."""
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"model name must be a non-empty lower-case string, got {name!r}")

    def decorator(builder: F) -> F:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name] = builder
        return builder

    return decorator


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_MODELS)


def create(name: str, **kwargs: object) -> nn.Module:
    """Build the model registered as ``name``; keyword arguments go to its builder.

    Every builder accepts ``num_classes`` and ``in_channels``. Unknown names raise ``ValueError``
    listing the known names.
    """
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, got {type(name).__name__}")
    try:
        builder = _MODELS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None
    return builder(**kwargs)
