"""Model registry: every model registers a builder under its torchvision-style lower-case name.

:data:`MODELS` is a :class:`dlprimer._registry.Registry`; ``create``, ``list_models`` and ``register_model``
are thin aliases over it (``MODELS.create``, ``MODELS.names``, ``MODELS.register``).

>>> from dlprimer import models
>>> net = models.create("lenet5", num_classes=10, in_channels=1)
>>> "lenet5" in models.list_models()
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

from dlprimer._registry import Registry

__all__ = ["MODELS", "Builder", "create", "list_models", "register_model"]

Builder = Callable[..., nn.Module]
F = TypeVar("F", bound=Builder)

#: name → ``builder(num_classes=..., in_channels=..., **kw) -> nn.Module``
MODELS: Registry[Builder] = Registry("model")


def register_model(name: str) -> Callable[[F], F]:
    """Decorator that registers ``builder(num_classes=..., in_channels=..., **kw) -> nn.Module``."""
    return MODELS.register(name)


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return MODELS.names()


def create(name: str, **kwargs: object) -> nn.Module:
    """Build the model registered as ``name``; keyword arguments go to its builder.

    Every builder accepts ``num_classes`` and ``in_channels``. Unknown names raise ``ValueError``
    listing the known names.
    """
    return MODELS.create(name, **kwargs)
