"""Random photometric transforms (notes: 数据增强 5 色彩扰动: 亮度, 对比度, 饱和度, 色调, 高斯噪声).

They change pixel values only: boxes, labels and masks pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from dlprimer._checks import is_float_like
from dlprimer.augment import functional as F
from dlprimer.augment._base import Transform
from dlprimer.augment._checks import check_range, uniform
from dlprimer.augment.sample import Sample

__all__ = ["ColorJitter", "GaussianNoise"]


def _factor_range(value: float | Sequence[float] | None, name: str) -> tuple[float, float] | None:
    """``b`` -> ``(max(0, 1 - b), 1 + b)``; a pair is taken as is (both >= 0); ``None``/0 -> no change."""
    if value is None:
        return None
    if is_float_like(value):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 when a single number, got {value}")
        if value == 0:
            return None
        return max(0.0, 1.0 - float(value)), 1.0 + float(value)
    return check_range(value, name, low=0.0)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order (as torchvision's
    ``ColorJitter``): factors ``U(max(0, 1 - b), 1 + b)`` (or a given ``(min, max)``), hue shift ``U(-h, h)``
    turns with ``h <= 0.5``. Each op is the v2-equal functional op of :mod:`dlprimer.augment.functional`.
    """

    def __init__(
        self,
        brightness: float | Sequence[float] | None = 0.4,
        contrast: float | Sequence[float] | None = 0.4,
        saturation: float | Sequence[float] | None = 0.4,
        hue: float | Sequence[float] | None = 0.1,
    ) -> None:
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")
        self.saturation = _factor_range(saturation, "saturation")
        if is_float_like(hue):
            if not 0 <= hue <= 0.5:
                raise ValueError(f"hue must be in [0, 0.5] when a single number, got {hue}")
            hue = None if hue == 0 else (-float(hue), float(hue))
        self.hue = None if hue is None else check_range(hue, "hue", low=-0.5, high=0.5)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        ops: list[tuple[tuple[float, float] | None, Callable[[Tensor, float], Tensor]]] = [
            (self.brightness, F.adjust_brightness),
            (self.contrast, F.adjust_contrast),
            (self.saturation, F.adjust_saturation),
            (self.hue, F.adjust_hue),
        ]
        order = torch.randperm(4, generator=generator).tolist()
        factors = [None if r is None else uniform(*r, generator) for r, _ in ops]
        image = sample["image"]
        for k in order:
            if factors[k] is not None:
                image = ops[k][1](image, factors[k])
        sample["image"] = image
        return sample


class GaussianNoise(Transform):
    """Add ``N(mean, sigma^2)`` noise with ``sigma ~ U(sigma_range)`` in units of the full intensity range
    (see :func:`dlprimer.augment.functional.gaussian_noise`)."""

    def __init__(self, sigma: float | Sequence[float] = (0.0, 0.05), mean: float = 0.0) -> None:
        if is_float_like(sigma):
            sigma = (float(sigma), float(sigma))
        self.sigma = check_range(sigma, "sigma", low=0.0)
        self.mean = float(mean)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        s = uniform(*self.sigma, generator)
        gen = generator if generator is not None else torch.default_generator
        sample["image"] = F.gaussian_noise(sample["image"], self.mean, s, clip=True, generator=gen)
        return sample
