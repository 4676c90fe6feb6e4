"""Registry of named augmentations (used by ``dlprimer augment preview --ops``).

``create("rotate", degrees=30)`` builds a transform; ``list_augmentations()`` lists the names. Single-sample
transforms take ``(sample, generator)``; the multi-sample ones (:data:`MULTI_SAMPLE`) take a list of samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

__all__ = ["MULTI_SAMPLE", "create", "list_augmentations", "register_augmentation"]

_REGISTRY: dict[str, Callable[..., Any]] = {}
MULTI_SAMPLE: set[str] = set()


def register_augmentation(name: str, builder: Callable[..., Any], *, multi_sample: bool = False) -> None:
    """Register ``builder(**kwargs)`` under the lower-case ``name``."""
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"augmentation name must be a non-empty lower-case string, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"augmentation {name!r} is already registered")
    _REGISTRY[name] = builder
    if multi_sample:
        MULTI_SAMPLE.add(name)


def list_augmentations() -> list[str]:
    """Sorted registered names."""
    return sorted(_REGISTRY)


def create(name: str, **kwargs: Any) -> Any:
    """Build the augmentation registered as ``name``; unknown names raise ``ValueError`` listing the known."""
    if not isinstance(name, str):
        raise TypeError(f"augmentation name must be a str, got {type(name).__name__}")
    try:
        builder = _REGISTRY[name.lower()]
    except KeyError:
        raise ValueError(f"unknown augmentation {name!r}; known: {', '.join(list_augmentations())}") from None
    return builder(**kwargs)


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
