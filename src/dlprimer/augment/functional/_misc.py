"""Deterministic occlusion op ``erase`` (notes: 数据增强 6 随机擦除, 7 cutout), equal to v2's ``erase``."""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.augment._checks import check_image

__all__ = ["erase"]


def erase(image: Tensor, i: int, j: int, h: int, w: int, v: Tensor | float, inplace: bool = False) -> Tensor:
    """Overwrite rows ``[i, i + h)`` and columns ``[j, j + w)`` with ``v``.

    ``v`` is a number or a tensor broadcastable to ``[..., C, h, w]`` (``[C, 1, 1]`` for one colour per channel,
    ``[C, h, w]`` for random values); it is cast to the image dtype. Parts of the window outside the image are
    ignored (Python slicing), as in v2. Boxes are not changed by erasing.
    """
    check_image(image, batched=None)
    for name, val in (("i", i), ("j", j), ("h", h), ("w", w)):
        if not is_int_like(val):
            raise TypeError(f"{name} must be an int, got {type(val).__name__}")
    if h < 0 or w < 0 or i < 0 or j < 0:
        raise ValueError(f"i, j, h, w must be >= 0, got i={i}, j={j}, h={h}, w={w}")
    out = image if inplace else image.clone()
    if not isinstance(v, torch.Tensor):
        v = torch.tensor(float(v), dtype=image.dtype if image.is_floating_point() else torch.float32)
    region = out[..., i : i + h, j : j + w]  # [..., C, h', w'] (clipped to the image)
    try:
        fits = torch.broadcast_shapes(v.shape, region.shape) == region.shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(
            f"v must be a number or a tensor broadcastable to the erased region {tuple(region.shape)} "
            f"(e.g. [C, 1, 1] or [C, h, w]), got shape {tuple(v.shape)}"
        )
    region[...] = v.to(device=image.device)
    return out
