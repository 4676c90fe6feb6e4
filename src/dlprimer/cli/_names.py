"""The registry names the ``list`` commands print (and the commands accept), read from the library's registries.

Each one is a :class:`dlprimer._registry.Registry`, so the CLI never keeps a list of its own.
"""

from __future__ import annotations


def model_names() -> list[str]:
    """``dlprimer.models.MODELS`` (``profile MODEL``, ``train --model``)."""
    from dlprimer.models import MODELS

    return MODELS.names()


def schedule_names() -> list[str]:
    """``dlprimer.schedules.SCHEDULES`` (``schedules plot``, ``train --schedule``)."""
    from dlprimer.schedules import SCHEDULES

    return SCHEDULES.names()


def augmentation_names() -> list[str]:
    """``dlprimer.augment.AUGMENTATIONS`` (``augment preview --ops``)."""
    from dlprimer.augment import AUGMENTATIONS

    return AUGMENTATIONS.names()


def init_names() -> list[str]:
    """``dlprimer.nn.init.INIT_SCHEMES`` (``train --init``)."""
    from dlprimer.nn.init import INIT_SCHEMES

    return INIT_SCHEMES.names()


def detector_names() -> list[str]:
    """``dlprimer.models.detection.DETECTORS`` (``detect train --model``)."""
    from dlprimer.models.detection import DETECTORS

    return DETECTORS.names()
