"""Deterministic geometric ops on images (and optionally xyxy boxes), equal to torchvision.transforms.v2.

Conventions (those of ``torchvision.transforms.v2.functional``, so results agree with it):

* images are ``[..., C, H, W]`` uint8 or float; boxes are ``[N, 4]`` xyxy in pixel units, the image spanning
  ``[0, W] x [0, H]`` (a pixel ``(i, j)`` covers ``[j, j + 1] x [i, i + 1]``).
* flips map ``x -> W - x`` and never clamp; ``resize`` scales boxes by ``(W'/W, H'/H)`` and never clamps;
  ``crop``, ``rotate`` and ``affine`` clamp boxes to the output canvas. No box is ever dropped here: dropping
  boxes that became (almost) invisible belongs to the sample-level transforms (:mod:`dlprimer.augment.sample`).
* ``rotate(angle)`` turns the image counter-clockwise by ``angle`` degrees about its centre; the box of a
  rotated box is the axis-aligned hull of its four rotated corners (a loose box: the sample-level rotation
  uses the rotated instance masks instead when a sample has them).
* uint8 images are resampled in float32 and rounded back (bilinear resize on x86 CPUs with AVX2 uses torch's
  native uint8 kernel, as v2 does).

Rotation and affine warps live in :mod:`._warp`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.augment._checks import check_boxes, check_image
from dlprimer.boxes.convert import clip_boxes_to_image

__all__ = ["crop", "hflip", "resize", "vflip"]

_RESAMPLE_MODES = ("nearest", "bilinear")


def _float_boxes(boxes: Tensor) -> Tensor:
    return boxes if boxes.is_floating_point() else boxes.float()


# ---------------------------------------------------------------------------------------------- flips
def hflip(image: Tensor, boxes: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Mirror left-right. ``x -> W - x`` for the boxes: ``(x1, x2) -> (W - x2, W - x1)``.

    Applying it twice gives back the image exactly and the boxes up to the float rounding of ``W - (W - x)``.
    """
    check_image(image, batched=None)
    out = image.flip(-1)
    if boxes is None:
        return out
    check_boxes(boxes)
    w = image.shape[-1]
    new = boxes.clone()
    new[:, 0] = w - boxes[:, 2]
    new[:, 2] = w - boxes[:, 0]
    return out, new


def vflip(image: Tensor, boxes: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Mirror top-bottom. ``y -> H - y`` for the boxes: ``(y1, y2) -> (H - y2, H - y1)``."""
    check_image(image, batched=None)
    out = image.flip(-2)
    if boxes is None:
        return out
    check_boxes(boxes)
    h = image.shape[-2]
    new = boxes.clone()
    new[:, 1] = h - boxes[:, 3]
    new[:, 3] = h - boxes[:, 1]
    return out, new


# ----------------------------------------------------------------------------------------------- crop
def _crop_image(image: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    h, w = image.shape[-2:]
    bottom, right = top + height, left + width
    if top >= 0 and left >= 0 and bottom <= h and right <= w:
        return image[..., top:bottom, left:right]
    # the window leaves the image: the part outside is zero-padded (as v2 does)
    out = image.new_zeros(image.shape[:-2] + (height, width))
    src_t, src_l = max(top, 0), max(left, 0)
    src_b, src_r = min(bottom, h), min(right, w)
    if src_b > src_t and src_r > src_l:
        out[..., src_t - top : src_b - top, src_l - left : src_r - left] = image[..., src_t:src_b, src_l:src_r]
    return out


def crop(
    image: Tensor, top: int, left: int, height: int, width: int, boxes: Tensor | None = None
) -> Tensor | tuple[Tensor, Tensor]:
    """Cut the window ``rows [top, top + height), cols [left, left + width)``; parts outside are zero.

    Boxes are shifted by ``(left, top)`` and clamped to ``[0, width] x [0, height]`` (a box entirely outside
    becomes a zero-width or zero-height box; it is not dropped).
    """
    check_image(image, batched=None)
    for name, v in (("top", top), ("left", left), ("height", height), ("width", width)):
        if not is_int_like(v):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if height <= 0 or width <= 0:
        raise ValueError(f"height and width must be positive, got height={height}, width={width}")
    out = _crop_image(image, top, left, height, width)
    if boxes is None:
        return out
    check_boxes(boxes)
    b = _float_boxes(boxes)
    shift = torch.tensor([left, top, left, top], dtype=b.dtype, device=b.device)
    return out, clip_boxes_to_image(b - shift, (height, width)).to(boxes.dtype)


# --------------------------------------------------------------------------------------------- resize
def _output_size(
    canvas_size: tuple[int, int], size: int | Sequence[int] | None, max_size: int | None
) -> tuple[int, int]:
    """``size`` int (or ``[s]``): the shorter side becomes ``s`` keeping the aspect (the longer side is
    truncated); ``[h, w]``: exactly that. ``max_size`` caps the longer side in the first case; with
    ``size=None`` the longer side becomes ``max_size`` (the shorter one truncated), as in v2."""
    h, w = canvas_size
    if size is None:
        if not is_int_like(max_size) or max_size < 1:
            raise ValueError(f"max_size must be a positive int when size is None, got {max_size!r}")
        short, long = (w, h) if w <= h else (h, w)
        new_short = int(max_size * short / long)
        if new_short < 1:
            raise ValueError(f"max_size={max_size} would shrink the shorter side {short} of {h}x{w} to 0 pixels")
        return (max_size, new_short) if w <= h else (new_short, max_size)
    if is_int_like(size):
        size = [size]
    if not isinstance(size, Sequence) or len(size) not in (1, 2) or not all(
        is_int_like(s) and s > 0 for s in size
    ):
        raise ValueError(f"size must be a positive int, [s] or [h, w] of positive ints, got {size!r}")
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size is only allowed when size gives the shorter side (an int or [s])")
        return int(size[0]), int(size[1])
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(size[0]), int(size[0] * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"max_size must be greater than the requested shorter side {new_short}, got {max_size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
            if new_short < 1:
                raise ValueError(
                    f"max_size={max_size} would shrink the shorter side of the {h}x{w} image to 0 pixels"
                )
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _native_uint8_bilinear(device: torch.device) -> bool:
    if device.type != "cpu":
        return False
    import platform

    return torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") or platform.machine() in (
        "aarch64",
        "arm64",
    )


def _resize_image(image: Tensor, size: tuple[int, int], interpolation: str, antialias: bool) -> Tensor:
    c, h, w = image.shape[-3:]
    if (h, w) == size or image.numel() == 0:
        return image.reshape(image.shape[:-2] + size) if image.numel() == 0 else image
    batch = image.reshape(-1, c, h, w)  # [B, C, H, W]
    dtype = image.dtype
    if interpolation == "nearest":
        native, align, antialias = True, None, False
    else:
        # torch's native uint8 anti-aliased kernel fails on a 1 x 1 output (so does v2): use float there
        native = image.is_floating_point() or (
            dtype == torch.uint8 and _native_uint8_bilinear(image.device) and size != (1, 1)
        )
        align = False
    x = batch if native and dtype in (torch.float32, torch.float64, torch.uint8) else batch.float()
    out = F.interpolate(x, size=list(size), mode=interpolation, align_corners=align, antialias=antialias)
    if out.dtype != dtype:
        out = out.round_().to(dtype) if not dtype.is_floating_point and dtype != torch.bool else out.to(dtype)
    return out.reshape(image.shape[:-2] + size)


def resize(
    image: Tensor,
    size: int | Sequence[int] | None,
    boxes: Tensor | None = None,
    interpolation: str = "bilinear",
    max_size: int | None = None,
    antialias: bool = True,
) -> Tensor | tuple[Tensor, Tensor]:
    """Resize to ``size`` (``[h, w]``, an int for the shorter side, or ``None`` with ``max_size`` for the
    longer side) with bilinear (default, anti-aliased
    when shrinking, ``align_corners=False``) or nearest interpolation. Boxes are scaled by
    ``(W'/W, H'/H, W'/W, H'/H)``.
    """
    check_image(image, batched=None)
    if interpolation not in _RESAMPLE_MODES:
        raise ValueError(f"interpolation must be one of {_RESAMPLE_MODES}, got {interpolation!r}")
    h, w = image.shape[-2:]
    new_size = _output_size((h, w), size, max_size)
    out = _resize_image(image, new_size, interpolation, antialias)
    if boxes is None:
        return out
    check_boxes(boxes)
    if new_size == (h, w):
        return out, boxes.clone()
    b = _float_boxes(boxes)
    rw, rh = new_size[1] / w, new_size[0] / h
    ratios = torch.tensor([rw, rh, rw, rh], dtype=b.dtype, device=b.device)
    return out, (b * ratios).to(boxes.dtype)
