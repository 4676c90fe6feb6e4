"""Occlusion: random erasing and cutout (notes: 数据增强 6 随机擦除, 7 cutout).

* Random erasing (Zhong et al., 2017): a rectangle of area ``U(scale)`` times the image area and aspect
  ``h / w`` log-uniform in ``ratio``, fully inside the image, filled with random values (uniform over the
  image's valid range: [0, 255] for uint8, [0, 1] for float -- torchvision draws N(0, 1), meant for normalised
  tensors) or a constant.
* Cutout (DeVries & Taylor, 2017): a *square* of side ``s`` whose centre is uniform over the image (the
  square is clipped at the border), filled with one constant (0 by default).

Erasing does not move boxes. A box whose *visible* fraction ``1 - area(box ∩ erased) / area(box)`` falls
below ``min_visibility`` is dropped with its label and mask (default 0: every box is kept).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dlprimer._checks import is_float_like, is_int_like
from dlprimer.augment import functional as F
from dlprimer.augment._base import Transform
from dlprimer.augment._checks import bernoulli, check_probability, check_range, randint, uniform
from dlprimer.augment.sample import Sample, select_boxes
from dlprimer.boxes.convert import box_area

__all__ = ["Cutout", "RandomErasing", "erase_sample"]


def erase_sample(
    sample: Sample, i: int, j: int, h: int, w: int, value: Tensor | float, min_visibility: float = 0.0
) -> Sample:
    """Erase rows ``[i, i + h)``, cols ``[j, j + w)`` with ``value`` and drop boxes less visible than
    ``min_visibility``."""
    sample["image"] = F.erase(sample["image"], i, j, h, w, value)
    if "boxes" not in sample or min_visibility <= 0:
        return sample
    boxes = sample["boxes"]
    rect = torch.tensor([j, i, j + w, i + h], dtype=boxes.dtype, device=boxes.device)
    lt = torch.maximum(boxes[:, :2], rect[:2])  # [N, 2]
    rb = torch.minimum(boxes[:, 2:], rect[2:])  # [N, 2]
    inter = (rb - lt).clamp(min=0).prod(dim=1)  # [N]
    area = box_area(boxes)
    visible = torch.where(area > 0, 1.0 - inter / area.clamp(min=1e-12), 0.0)
    return select_boxes(sample, visible >= min_visibility)


def _fill_value(
    value: str | float | Sequence[float], image: Tensor, h: int, w: int, gen: torch.Generator | None
) -> Tensor | float:
    c = image.shape[-3]
    if isinstance(value, str):  # "random"
        if image.dtype == torch.uint8:
            v = torch.randint(0, 256, (c, h, w), generator=gen, dtype=torch.uint8)
        else:
            v = torch.rand((c, h, w), generator=gen, dtype=image.dtype)
        return v.to(image.device)
    if is_float_like(value):
        return float(value)
    v = torch.tensor([float(x) for x in value], dtype=torch.float32)
    if v.numel() != c:
        raise ValueError(f"value must have one entry per channel ({c}), got {len(v)}")
    return v.view(c, 1, 1)


def _check_value(value: object, name: str = "value") -> str | float | tuple[float, ...]:
    if isinstance(value, str):
        if value != "random":
            raise ValueError(f"{name} must be 'random', a number or one number per channel, got {value!r}")
        return value
    if is_float_like(value):
        return float(value)
    if isinstance(value, Sequence) and all(is_float_like(v) for v in value):
        return tuple(float(v) for v in value)
    raise ValueError(f"{name} must be 'random', a number or one number per channel, got {value!r}")


class RandomErasing(Transform):
    """With probability ``p`` erase one random rectangle (area fraction ``U(scale)``, aspect ``h/w``
    log-uniform in ``ratio``; up to 10 tries to fit, else no change), as torchvision's ``RandomErasing``."""

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: str | float | Sequence[float] = "random",
        min_visibility: float = 0.0,
    ) -> None:
        self.p = check_probability(p)
        self.scale = check_range(scale, "scale", low=0.0, high=1.0)
        self.ratio = check_range(ratio, "ratio", low=1e-6)
        self.value = _check_value(value)
        self.min_visibility = check_probability(min_visibility, "min_visibility")

    def get_params(self, h: int, w: int, generator: torch.Generator | None) -> tuple[int, int, int, int] | None:
        """``(i, j, eh, ew)`` of the rectangle, or ``None`` when no try fits."""
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            area = uniform(*self.scale, generator) * h * w
            aspect = math.exp(uniform(log_lo, log_hi, generator))
            eh, ew = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < eh < h and 0 < ew < w:
                return randint(0, h - eh, generator), randint(0, w - ew, generator), eh, ew
        return None

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        if not bernoulli(self.p, generator):
            return sample
        image = sample["image"]
        params = self.get_params(image.shape[-2], image.shape[-1], generator)
        if params is None:
            return sample
        i, j, eh, ew = params
        v = _fill_value(self.value, image, eh, ew, generator)
        return erase_sample(sample, i, j, eh, ew, v, self.min_visibility)


class Cutout(Transform):
    """With probability ``p`` cut ``n_holes`` squares of side ``size`` pixels (an int) or ``U(size)`` times the
    shorter image side (a pair of fractions), centred uniformly over the image, filled with ``fill``."""

    def __init__(
        self,
        size: int | Sequence[float] = (0.1, 0.3),
        fill: float | Sequence[float] = 0.0,
        n_holes: int = 1,
        p: float = 1.0,
        min_visibility: float = 0.0,
    ) -> None:
        if is_int_like(size):
            if size <= 0:
                raise ValueError(f"size must be a positive number of pixels, got {size}")
            self.size: int | tuple[float, float] = size
        else:
            self.size = check_range(size, "size", low=0.0, high=1.0)
        self.fill = _check_value(fill, "fill")
        if isinstance(self.fill, str):
            raise ValueError("fill must be a constant (cutout fills with one colour), got 'random'")
        if not is_int_like(n_holes) or n_holes < 1:
            raise ValueError(f"n_holes must be a positive int, got {n_holes!r}")
        self.n_holes = n_holes
        self.p = check_probability(p)
        self.min_visibility = check_probability(min_visibility, "min_visibility")

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        if not bernoulli(self.p, generator):
            return sample
        h, w = sample["image"].shape[-2:]
        fill = self.fill  # in the image's units: [0, 255] for uint8, [0, 1] for float
        for _ in range(self.n_holes):
            side = self.size if is_int_like(self.size) else round(uniform(*self.size, generator) * min(h, w))
            side = max(1, side)
            cy, cx = randint(0, h - 1, generator), randint(0, w - 1, generator)
            y1, x1 = max(0, cy - side // 2), max(0, cx - side // 2)
            y2, x2 = min(h, cy - side // 2 + side), min(w, cx - side // 2 + side)
            v = _fill_value(fill, sample["image"], y2 - y1, x2 - x1, generator)
            sample = erase_sample(sample, y1, x1, y2 - y1, x2 - x1, v, self.min_visibility)
        return sample
