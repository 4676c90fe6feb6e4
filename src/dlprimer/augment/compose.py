"""Composition of sample transforms: ``Compose``, ``RandomApply``, ``OneOf``.

All take and pass on one ``torch.Generator``, so a pipeline seeded with ``torch.Generator().manual_seed(s)``
gives the same output for the same ``s`` (on CPU and CUDA alike: parameters are always drawn on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from dlprimer.augment._base import Transform
from dlprimer.augment._checks import bernoulli, check_probability
from dlprimer.augment.sample import Sample

__all__ = ["Compose", "OneOf", "RandomApply"]

SampleFn = Callable[..., Sample]


def _check_transforms(transforms: object, name: str = "transforms") -> list[SampleFn]:
    if callable(transforms):
        transforms = [transforms]
    if not isinstance(transforms, Sequence) or not all(callable(t) for t in transforms):
        raise TypeError(f"{name} must be a transform or a sequence of transforms, got {transforms!r}")
    return list(transforms)


def _run(t: SampleFn, sample: Sample, generator: torch.Generator | None) -> Sample:
    return t._apply(sample, generator) if isinstance(t, Transform) else t(sample, generator)


class Compose(Transform):
    """Apply ``transforms`` one after another: ``t_n(...t_1(sample, g)..., g)``. The input is validated once."""

    def __init__(self, transforms: Sequence[SampleFn]) -> None:
        self.transforms = _check_transforms(transforms)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        for t in self.transforms:
            sample = _run(t, sample, generator)
        return sample


class RandomApply(Transform):
    """With probability ``p`` apply ``transforms`` (one or a sequence, composed); else return the input."""

    def __init__(self, transforms: SampleFn | Sequence[SampleFn], p: float = 0.5) -> None:
        self.transforms = _check_transforms(transforms)
        self.p = check_probability(p)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        if not bernoulli(self.p, generator):
            return sample
        for t in self.transforms:
            sample = _run(t, sample, generator)
        return sample


class OneOf(Transform):
    """Apply exactly one of ``transforms``, chosen with probabilities proportional to ``weights`` (default
    uniform)."""

    def __init__(self, transforms: Sequence[SampleFn], weights: Sequence[float] | None = None) -> None:
        self.transforms = _check_transforms(transforms)
        if not self.transforms:
            raise ValueError("transforms must not be empty")
        if weights is None:
            weights = [1.0] * len(self.transforms)
        if len(weights) != len(self.transforms) or any(float(w) < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(
                f"weights must be {len(self.transforms)} non-negative numbers with a positive sum, got {weights!r}"
            )
        self.weights = [float(w) for w in weights]

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        k = int(torch.multinomial(torch.tensor(self.weights), 1, generator=generator))
        return _run(self.transforms[k], sample, generator)
