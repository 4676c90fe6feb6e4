"""Deterministic photometric ops, equal to ``torchvision.transforms.v2.functional`` (notes: 数据增强 5, 色彩扰动).

Images are ``[..., C, H, W]`` with C = 1 (grey) or 3 (RGB), uint8 in [0, 255] or float in [0, 1].
Every op works in float and clamps to the valid range; uint8 results are *truncated* back to uint8 (as v2 does)
except hue, which converts with ``x * (255 + 1 - 1e-3)`` truncated (v2's float->uint8 rule).

* brightness: ``out = f * x``
* contrast:   ``out = f * x + (1 - f) * mean(grey(x))`` (one mean per image)
* saturation: ``out = f * x + (1 - f) * grey(x)`` (per pixel); identity on grey images
* hue:        rotate the HSV hue by ``h`` turns, ``h in [-0.5, 0.5]``; identity on grey images (computed with a
              closed-form HSV->RGB, equal to v2's up to float rounding)
* grey(x) = 0.2989 R + 0.587 G + 0.114 B (ITU-R 601), floored for uint8 images.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import is_float_like
from dlprimer.augment._checks import check_color_channels, check_image, check_nonnegative, max_value

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "gaussian_noise",
    "rgb_to_grayscale",
]


def _grey(image: Tensor) -> Tensor:
    """``[..., 1, H, W]`` float luma of an RGB image (float32 for uint8 input)."""
    r, g, b = image.unbind(dim=-3)
    return r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(-3)


def rgb_to_grayscale(image: Tensor) -> Tensor:
    """``[..., 1, H, W]`` luma ``0.2989 R + 0.587 G + 0.114 B`` in the image's dtype (uint8: truncated)."""
    check_image(image, batched=None)
    check_color_channels(image)
    if image.shape[-3] == 1:
        return image.clone()
    return _grey(image).to(image.dtype)


def _blend(image: Tensor, other: Tensor, ratio: float) -> Tensor:
    """``ratio * image + (1 - ratio) * other`` clamped to the valid range, cast back to the image dtype."""
    out = image.mul(float(ratio)).add_(other, alpha=1.0 - float(ratio)).clamp_(0, max_value(image.dtype))
    return out if image.is_floating_point() else out.to(image.dtype)


def _check_factor(image: Tensor, factor: float, name: str) -> None:
    check_image(image, batched=None)
    check_color_channels(image)
    check_nonnegative(factor, name)


def adjust_brightness(image: Tensor, brightness_factor: float) -> Tensor:
    """``clamp(f * x)``: 0 gives black, 1 the original, 2 twice as bright."""
    _check_factor(image, brightness_factor, "brightness_factor")
    out = image.mul(float(brightness_factor)).clamp_(0, max_value(image.dtype))
    return out if image.is_floating_point() else out.to(image.dtype)


def adjust_contrast(image: Tensor, contrast_factor: float) -> Tensor:
    """Blend with the mean grey level of each image: 0 gives a flat grey image, 1 the original."""
    _check_factor(image, contrast_factor, "contrast_factor")
    fp = image.is_floating_point()
    if image.shape[-3] == 3:
        grey = _grey(image)
        if not fp:
            grey = grey.floor_()
    else:
        grey = image if fp else image.to(torch.float32)
    mean = grey.mean(dim=(-3, -2, -1), keepdim=True)  # [..., 1, 1, 1]
    return _blend(image, mean, contrast_factor)


def adjust_saturation(image: Tensor, saturation_factor: float) -> Tensor:
    """Blend with the per-pixel grey image: 0 gives grey, 1 the original, 2 doubly saturated."""
    _check_factor(image, saturation_factor, "saturation_factor")
    if image.shape[-3] == 1:
        return image.clone()
    grey = _grey(image)
    if not image.is_floating_point():
        grey = grey.floor_()
    return _blend(image, grey, saturation_factor)


def _shift_hue(rgb: Tensor, turns: float) -> Tensor:
    """Rotate the hue of float RGB ``[..., 3, H, W]`` (any scale) by ``turns``, keeping HSV's S and V.

    HSV hexcone: ``V = max``, ``V S = max - min = Δ``; the hue in sextants ``h6 = (g - b)/Δ`` (max is R),
    ``(b - r)/Δ + 2`` (max is G), ``(r - g)/Δ + 4`` (max is B). Back to RGB with the closed form
    ``c_n = V - V S clamp(min(k, 4 - k), 0, 1)``, ``k = (n + h6 + 6 turns) mod 6``, ``n = 5, 3, 1`` for R, G, B.
    """
    r, g, b = rgb.unbind(dim=-3)
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    delta = maxc - minc
    is_r, is_g = maxc == r, maxc == g
    num = torch.where(is_r, g - b, torch.where(is_g, b - r, r - g))
    offset = torch.where(is_r, 0.0, torch.where(is_g, 2.0, 4.0)).to(rgb.dtype) + 6.0 * float(turns)
    h6 = num.div_(torch.where(delta > 0, delta, torch.ones_like(delta))).add_(offset)  # [..., H, W]
    n = torch.tensor([5.0, 3.0, 1.0], dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    k = (h6.unsqueeze(-3) + n).remainder_(6.0)  # [..., 3, H, W]
    ramp = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return maxc.unsqueeze(-3) - delta.unsqueeze(-3) * ramp


def adjust_hue(image: Tensor, hue_factor: float) -> Tensor:
    """Shift the hue by ``hue_factor`` turns (``[-0.5, 0.5]``; ±0.5 is the complementary colour)."""
    check_image(image, batched=None)
    check_color_channels(image)
    if not is_float_like(hue_factor) or not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor must be a number in [-0.5, 0.5], got {hue_factor!r}")
    if image.shape[-3] == 1 or image.numel() == 0:
        return image.clone()
    if image.is_floating_point():
        return _shift_hue(image, hue_factor)
    # uint8: work on the 0..255 scale, then v2's float->uint8 rule trunc(x / 255 * (255 + 1 - 1e-3))
    out = _shift_hue(image.to(torch.float32), hue_factor)
    return out.mul_((255.0 + 1.0 - 1e-3) / 255.0).clamp_(0, 255).to(image.dtype)


def gaussian_noise(
    image: Tensor,
    mean: float = 0.0,
    sigma: float = 0.1,
    clip: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Add i.i.d. ``N(mean, sigma^2)`` noise, in units of the full intensity range (1.0 for float, 255 for
    uint8, so the same ``sigma`` means the same thing for both dtypes), as ``v2.functional.gaussian_noise``.

    Float: ``x + (mean + sigma z)``, clamped to [0, 1] when ``clip``. uint8: ``x + trunc(255 mean + 255 sigma z)``
    clamped to [0, 255] (uint8 must clip: ``clip=False`` raises). With ``generator=None`` the noise comes from
    the global RNG exactly as in v2; with a generator it is drawn on the CPU and moved to the image's device,
    so one seed gives the same noise on CPU and CUDA.
    """
    check_image(image, batched=None)
    check_nonnegative(sigma, "sigma")
    dtype = image.dtype if image.is_floating_point() else torch.float32
    if generator is None:
        z = torch.randn_like(image, dtype=dtype)
    else:
        z = torch.randn(image.shape, generator=generator, dtype=dtype).to(image.device)
    if image.is_floating_point():
        out = image + (mean + z * sigma)
        return out.clamp_(0.0, 1.0) if clip else out
    if not clip:
        raise ValueError("clip must be True for uint8 images (values must stay in [0, 255])")
    noise = (mean * 255 + z * (sigma * 255)).to(torch.int16)
    return (image.to(torch.int16) + noise).clamp_(0, 255).to(image.dtype)
