"""Random geometric transforms of a sample (notes: 数据增强 1 随机缩放, 2 随机裁剪, 3 随机翻转, 4 随机旋转).

Each transform draws its parameters from the given ``torch.Generator`` and calls the deterministic ops of
:mod:`dlprimer.augment.functional` on the image, the boxes and the masks together; boxes are then clipped
and dropped by the rule of :mod:`dlprimer.augment.sample` (visible fraction below ``min_visibility`` or a side
shorter than ``min_size`` pixels).

Rotation and affine warps: with instance masks the new boxes are the tight boxes of the warped masks (tight
and exact); without masks they are the axis-aligned hulls of the 4 warped corners, which are *loose* (a
box rotated by 45 degrees grows by up to a factor 2 in area) -- the only choice without the object's shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dlprimer._checks import check_float, check_int_pair, is_float_like
from dlprimer.augment import functional as F
from dlprimer.augment._base import Transform
from dlprimer.augment._checks import bernoulli, check_probability, check_range, uniform
from dlprimer.augment.functional._warp import _affine_matrix, _expand_shift, _transform_boxes
from dlprimer.augment.sample import Sample, boxes_from_masks, check_drop_args, drop_boxes

__all__ = [
    "RandomAffine",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomScale",
    "RandomVerticalFlip",
    "Resize",
    "crop_sample",
    "resize_sample",
    "warp_sample",
]


def _check_interpolation(interpolation: str) -> str:
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    return interpolation


def _masks_as_images(masks: Tensor) -> Tensor:
    return masks.to(torch.uint8)[:, None]  # [N, 1, H, W]


def _restore_masks(warped: Tensor, like: Tensor) -> Tensor:
    return warped[:, 0].to(like.dtype)  # [N, H', W']


class _RandomFlip(Transform):
    """Mirror along one axis with probability ``p`` (boxes are mirrored too; nothing is dropped).

    Subclasses set ``_flip`` (the functional op) and ``_mask_dim`` (the mask axis it mirrors).
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = check_probability(p)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        if not bernoulli(self.p, generator):
            return sample
        if "boxes" in sample:
            sample["image"], sample["boxes"] = self._flip(sample["image"], sample["boxes"])
        else:
            sample["image"] = self._flip(sample["image"])
        if "masks" in sample:
            sample["masks"] = sample["masks"].flip(self._mask_dim)
        return sample


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p`` (boxes ``x -> W - x``; nothing is dropped)."""

    _flip = staticmethod(F.hflip)
    _mask_dim = -1


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p`` (boxes ``y -> H - y``; nothing is dropped)."""

    _flip = staticmethod(F.vflip)
    _mask_dim = -2


# ----------------------------------------------------------------------------------------------- resize
def resize_sample(
    sample: Sample, size: tuple[int, int], interpolation: str = "bilinear", min_size: float = 0.0
) -> Sample:
    """Resize image (``interpolation``), masks (nearest) and boxes to ``size = (H', W')``; boxes whose side
    falls below ``min_size`` (or to zero) are dropped."""
    out = dict(sample)
    out["image"] = F.resize(sample["image"], list(size), interpolation=interpolation)
    if "masks" in sample:
        out["masks"] = _restore_masks(
            F.resize(_masks_as_images(sample["masks"]), list(size), interpolation="nearest"), sample["masks"]
        )
    if "boxes" not in sample:
        return out
    h, w = sample["image"].shape[-2:]
    ratios = torch.tensor([size[1] / w, size[0] / h] * 2, dtype=sample["boxes"].dtype)
    scaled = sample["boxes"] * ratios.to(sample["boxes"].device)
    return drop_boxes(out, scaled, min_visibility=0.0, min_size=min_size)


class Resize(Transform):
    """Resize every sample to ``size = (H, W)`` (deterministic)."""

    def __init__(self, size: Sequence[int], interpolation: str = "bilinear") -> None:
        if not isinstance(size, Sequence) or isinstance(size, str) or len(size) != 2:
            raise ValueError(f"size must be (H, W) of positive ints, got {size!r}")
        self.size = check_int_pair(size, "size", low=1)
        self.interpolation = _check_interpolation(interpolation)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        return resize_sample(sample, self.size, self.interpolation)


class RandomScale(Transform):
    """Resize by a factor ``s ~ U(scale)`` (same factor for both sides; notes: 随机缩放).

    The new size is ``(max(1, round(s H)), max(1, round(s W)))``; boxes are scaled exactly by the size ratio.
    """

    def __init__(
        self, scale: Sequence[float] = (0.5, 1.5), interpolation: str = "bilinear", min_size: float = 1.0
    ) -> None:
        self.scale = check_range(scale, "scale", low=1e-6)
        self.interpolation = _check_interpolation(interpolation)
        _, self.min_size = check_drop_args(0.0, min_size)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        s = uniform(*self.scale, generator)
        h, w = sample["image"].shape[-2:]
        size = (max(1, round(s * h)), max(1, round(s * w)))
        return resize_sample(sample, size, self.interpolation, self.min_size)


# ------------------------------------------------------------------------------------------------- crop
def crop_sample(
    sample: Sample, top: int, left: int, height: int, width: int, *, min_visibility: float = 0.25, min_size: float = 1.0
) -> Sample:
    """Crop image and masks to the window, shift boxes by ``(left, top)``, clip them and apply the drop rule
    (visible fraction = clipped over unclipped area, or kept over original mask pixels with masks)."""
    out = dict(sample)
    out["image"] = F.crop(sample["image"], top, left, height, width)
    if "boxes" not in sample:
        return out
    boxes = sample["boxes"]
    shifted = boxes - torch.tensor([left, top, left, top], dtype=boxes.dtype, device=boxes.device)
    visible = None
    if "masks" in sample:
        masks = sample["masks"]
        out["masks"] = _restore_masks(F.crop(_masks_as_images(masks), top, left, height, width), masks)
        before = masks.flatten(1).count_nonzero(dim=1)
        after = out["masks"].flatten(1).count_nonzero(dim=1)
        visible = torch.where(before > 0, after / before.clamp(min=1), 0.0)
    return drop_boxes(out, shifted, min_visibility=min_visibility, min_size=min_size, visible_fraction=visible)


class RandomCrop(Transform):
    """Crop a random window covering a fraction ``a ~ U(area)`` of the image (notes: 0.6-1) with aspect
    ratio ``w/h`` log-uniform in ``aspect``.

    As ``RandomResizedCrop.get_params``: up to 10 tries for a window that fits; otherwise the whole image.
    The window's top-left corner is uniform over the positions where it fits. No resize afterwards (compose
    with :class:`Resize` for a fixed output size).
    """

    def __init__(
        self,
        area: Sequence[float] = (0.6, 1.0),
        aspect: Sequence[float] = (3 / 4, 4 / 3),
        min_visibility: float = 0.25,
        min_size: float = 1.0,
    ) -> None:
        self.area = check_range(area, "area", low=1e-6, high=1.0)
        self.aspect = check_range(aspect, "aspect", low=1e-6)
        self.min_visibility, self.min_size = check_drop_args(min_visibility, min_size)

    def get_params(self, h: int, w: int, generator: torch.Generator | None) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the window."""
        log_lo, log_hi = math.log(self.aspect[0]), math.log(self.aspect[1])
        for _ in range(10):
            target = uniform(*self.area, generator) * h * w
            ratio = math.exp(uniform(log_lo, log_hi, generator))
            cw, ch = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(torch.randint(0, h - ch + 1, (), generator=generator))
                left = int(torch.randint(0, w - cw + 1, (), generator=generator))
                return top, left, ch, cw
        return 0, 0, h, w

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        h, w = sample["image"].shape[-2:]
        top, left, ch, cw = self.get_params(h, w, generator)
        return crop_sample(
            sample, top, left, ch, cw, min_visibility=self.min_visibility, min_size=self.min_size
        )


# ------------------------------------------------------------------------------------- rotate / affine
def warp_sample(
    sample: Sample,
    *,
    angle: float,
    translate: Sequence[float] = (0.0, 0.0),
    scale: float = 1.0,
    shear: Sequence[float] = (0.0, 0.0),
    expand: bool = False,
    interpolation: str = "bilinear",
    fill: float | Sequence[float] | None = 0.0,
    min_visibility: float = 0.25,
    min_size: float = 1.0,
) -> Sample:
    """Rotate counter-clockwise by ``angle`` degrees (``F.rotate`` convention) and, when any of translate
    (pixels), scale or shear (degrees) differ from identity, apply ``F.affine`` with ``-angle`` instead.

    Boxes: tight boxes of the warped masks when the sample has masks (visible fraction = mask pixels after
    / before), else hulls of the warped corners (visible fraction = clipped / unclipped hull area).
    """
    image = sample["image"]
    h, w = image.shape[-2:]
    is_rotation = tuple(translate) == (0.0, 0.0) and scale == 1.0 and tuple(shear) == (0.0, 0.0)

    def warp(x: Tensor, mode: str, fill_value: float | Sequence[float] | None) -> Tensor:
        if is_rotation:
            return F.rotate(x, angle, interpolation=mode, expand=expand, fill=fill_value)
        return F.affine(x, -angle, list(translate), scale, list(shear), interpolation=mode, fill=fill_value)

    out = dict(sample)
    out["image"] = warp(image, interpolation, fill)
    if "boxes" not in sample:
        return out
    oh, ow = out["image"].shape[-2:]
    boxes = sample["boxes"]
    if "masks" in sample:
        masks = sample["masks"]
        out["masks"] = _restore_masks(warp(_masks_as_images(masks), "nearest", None), masks)
        before = masks.flatten(1).count_nonzero(dim=1)
        after = out["masks"].flatten(1).count_nonzero(dim=1)
        visible = torch.where(before > 0, after / before.clamp(min=1), 0.0)
        tight = boxes_from_masks(out["masks"]).to(boxes.dtype).to(boxes.device)
        return drop_boxes(out, tight, min_visibility=min_visibility, min_size=min_size, visible_fraction=visible)
    center = [0.5 * w, 0.5 * h]
    fwd = _affine_matrix(center, -float(angle), [float(t) for t in translate], float(scale),
                         [float(s) for s in shear], inverse=False)
    shift = _expand_shift(fwd, h, w, boxes.dtype) if (expand and is_rotation) else (0.0, 0.0)
    hull = _transform_boxes(boxes, fwd, (oh, ow), shift, clamp=False)
    return drop_boxes(out, hull, min_visibility=min_visibility, min_size=min_size)


class RandomRotation(Transform):
    """Rotate by ``angle ~ U(degrees)`` (counter-clockwise, any angle; notes: 随机旋转).

    ``degrees`` is a number ``d`` (meaning ``(-d, d)``) or a ``(min, max)`` pair. See :func:`warp_sample` for
    the boxes (from masks when present, otherwise from the rotated corners).
    """

    def __init__(
        self,
        degrees: float | Sequence[float] = 15.0,
        interpolation: str = "bilinear",
        expand: bool = False,
        fill: float | Sequence[float] | None = 0.0,
        min_visibility: float = 0.25,
        min_size: float = 1.0,
    ) -> None:
        if is_float_like(degrees):
            degrees = check_float(degrees, "degrees", low=0.0)
            degrees = (-degrees, degrees)
        self.degrees = check_range(degrees, "degrees")
        self.interpolation, self.expand, self.fill = _check_interpolation(interpolation), bool(expand), fill
        self.min_visibility, self.min_size = check_drop_args(min_visibility, min_size)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        angle = uniform(*self.degrees, generator)
        return warp_sample(
            sample, angle=angle, expand=self.expand, interpolation=self.interpolation, fill=self.fill,
            min_visibility=self.min_visibility, min_size=self.min_size,
        )


class RandomAffine(Transform):
    """Random affine warp: rotation ``U(degrees)`` (counter-clockwise), translation ``U(-t, t)`` times the
    image size per axis, scale ``U(scale)``, shear ``U(shear)`` degrees along x. Output keeps the input size.
    """

    def __init__(
        self,
        degrees: float | Sequence[float] = 0.0,
        translate: Sequence[float] = (0.1, 0.1),
        scale: Sequence[float] = (0.8, 1.2),
        shear: float | Sequence[float] = 0.0,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] | None = 0.0,
        min_visibility: float = 0.25,
        min_size: float = 1.0,
    ) -> None:
        if is_float_like(degrees):
            degrees = (-abs(check_float(degrees, "degrees")), abs(check_float(degrees, "degrees")))
        if is_float_like(shear):
            shear = (-abs(check_float(shear, "shear")), abs(check_float(shear, "shear")))
        self.degrees = check_range(degrees, "degrees")
        self.translate = check_range(translate, "translate", low=0.0, high=1.0, ordered=False)
        self.scale = check_range(scale, "scale", low=1e-6)
        self.shear = check_range(shear, "shear", low=-89.0, high=89.0)
        self.interpolation, self.fill = _check_interpolation(interpolation), fill
        self.min_visibility, self.min_size = check_drop_args(min_visibility, min_size)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        h, w = sample["image"].shape[-2:]
        angle = uniform(*self.degrees, generator)
        tx = round(uniform(-self.translate[0], self.translate[0], generator) * w)
        ty = round(uniform(-self.translate[1], self.translate[1], generator) * h)
        s = uniform(*self.scale, generator)
        sh = uniform(*self.shear, generator)
        return warp_sample(
            sample, angle=angle, translate=(float(tx), float(ty)), scale=s, shear=(sh, 0.0),
            interpolation=self.interpolation, fill=self.fill,
            min_visibility=self.min_visibility, min_size=self.min_size,
        )
