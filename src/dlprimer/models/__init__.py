"""Model zoo behind a registry: ``create(name, **kwargs)``, ``list_models()``.

Each family lives in its own module and registers its names on import.
"""

from dlprimer.models import (  # noqa: F401  (registration)
    alexnet,
    densenet,
    googlenet,
    lenet,
    resnet,
    vgg,
)
from dlprimer.models.registry import create, list_models, register_model

__all__ = ["create", "list_models", "register_model"]
