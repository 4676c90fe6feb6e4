"""The registry names the ``list`` commands print (and the commands accept), read from the library.

Each function reads the package's :class:`dlprimer._registry.Registry` when it has one (``MODELS``,
``SCHEDULES``, ``AUGMENTATIONS``, ``INIT_SCHEMES``) and its ``list_*()`` function otherwise, so the CLI never
keeps a list of its own.
"""

from __future__ import annotations

from typing import Any

from dlprimer._registry import Registry


def _names(registry: Any, fallback: Any) -> list[str]:
    if isinstance(registry, Registry):
        return registry.names()
    return list(fallback())


def model_names() -> list[str]:
    """Names accepted by ``dlprimer.models.create`` (``profile MODEL``, ``train --model``)."""
    from dlprimer import models

    return _names(getattr(models, "MODELS", None), models.list_models)


def schedule_names() -> list[str]:
    """Names accepted by ``dlprimer.schedules.build_schedule`` (``schedules plot``, ``train --schedule``)."""
    from dlprimer import schedules

    return _names(getattr(schedules, "SCHEDULES", None), schedules.list_schedules)


def augmentation_names() -> list[str]:
    """Names accepted by ``augment preview --ops``."""
    from dlprimer import augment
    from dlprimer.augment import registry

    return _names(getattr(augment, "AUGMENTATIONS", None), registry.list_augmentations)


def init_names() -> list[str]:
    """Names accepted by ``dlprimer.nn.init.init_weights`` (``train --init``)."""
    from dlprimer.nn import init

    return _names(getattr(init, "INIT_SCHEMES", None), init.list_inits)
