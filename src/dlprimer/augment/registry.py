"""Registry of named augmentations (used by ``dlprimer augment preview --ops``).

``create("rotate", degrees=30)`` builds a transform; ``list_augmentations()`` lists the names of
:data:`AUGMENTATIONS` (a :class:`dlprimer._registry.Registry`). Single-sample
transforms take ``(sample, generator)``; the multi-sample ones (:data:`MULTI_SAMPLE`) take a list of samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlprimer._registry import Registry
from dlprimer.augment.copy_paste import CopyPaste
from dlprimer.augment.erasing import Cutout, RandomErasing
from dlprimer.augment.geometric import (
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomScale,
    RandomVerticalFlip,
)
from dlprimer.augment.mixing import DetectionMixUp
from dlprimer.augment.mosaic import Mosaic
from dlprimer.augment.photometric import ColorJitter, GaussianNoise

__all__ = ["AUGMENTATIONS", "MULTI_SAMPLE", "create", "list_augmentations", "register_augmentation"]

#: name → ``builder(**kwargs)`` returning a transform
AUGMENTATIONS: Registry[Callable[..., Any]] = Registry("augmentation")
#: names of the transforms that take a list of samples (mosaic, mixup, copy_paste)
MULTI_SAMPLE: set[str] = set()


def register_augmentation(name: str, builder: Callable[..., Any], *, multi_sample: bool = False) -> None:
    """Register ``builder(**kwargs)`` under the lower-case ``name``."""
    AUGMENTATIONS.add(name, builder)
    if multi_sample:
        MULTI_SAMPLE.add(name)


def list_augmentations() -> list[str]:
    """Sorted registered names (``AUGMENTATIONS.names()``)."""
    return AUGMENTATIONS.names()


def create(name: str, **kwargs: Any) -> Any:
    """Build the augmentation registered as ``name``; unknown names raise ``ValueError`` listing the known."""
    return AUGMENTATIONS.create(name, **kwargs)


for _name, _builder in {
    "hflip": lambda **kw: RandomHorizontalFlip(**{"p": 1.0, **kw}),
    "vflip": lambda **kw: RandomVerticalFlip(**{"p": 1.0, **kw}),
    "scale": RandomScale,
    "crop": RandomCrop,
    "rotate": lambda **kw: RandomRotation(**{"degrees": 30.0, **kw}),
    "affine": lambda **kw: RandomAffine(**{"degrees": 10.0, "shear": 10.0, **kw}),
    "color": ColorJitter,
    "noise": GaussianNoise,
    "erase": lambda **kw: RandomErasing(**{"p": 1.0, **kw}),
    "cutout": Cutout,
}.items():
    register_augmentation(_name, _builder)
for _name, _builder in {"mosaic": Mosaic, "mixup": DetectionMixUp, "copy_paste": CopyPaste}.items():
    register_augmentation(_name, _builder, multi_sample=True)
