"""Model zoo behind a registry: ``create(name, **kwargs)``, ``list_models()``, :data:`MODELS`.

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
from dlprimer.models.registry import MODELS, create, list_models, register_model

__all__ = ["MODELS", "create", "list_models", "register_model"]
