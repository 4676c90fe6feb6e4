"""Anchor boxes (Faster R-CNN, Ren et al. 2015; notes: "anchor box介绍"), torchvision's AnchorGenerator.

Every feature-map cell gets ``A = len(sizes) × len(aspect_ratios)`` anchors. For a size ``s`` and an
aspect ratio ``r = h / w`` the anchor has ``w = s / √r``, ``h = s √r`` (area ``s²``); the base anchor
``(-w, -h, w, h) / 2`` is rounded to integers (``torch.round``, halves to even) and shifted to
``(x·stride_w, y·stride_h)`` — the cell's top-left pixel, not its centre, as torchvision does. The strides
are ``image_size // feature_size`` per axis. The notes' 9 anchors are one level with
``sizes=(128, 256, 512)`` and ``aspect_ratios=(0.5, 1.0, 2.0)`` (the default here).

Output order, as torchvision: for each level, cells row-major (y, then x), and in each cell the anchors
ratio-major then size (``[r0s0, r0s1, ..., r1s0, ...]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlprimer._checks import is_float_like, is_int_like

__all__ = ["AnchorGenerator"]


def _as_levels(value: object, name: str) -> tuple[tuple[float, ...], ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            f"{name} must be a non-empty sequence (or a sequence of sequences, one per level), got {value!r}"
        )
    levels = value if isinstance(value[0], (list, tuple)) else (value,)
    out = []
    for lvl in levels:
        if not isinstance(lvl, (list, tuple)) or not lvl:
            raise ValueError(f"each level of {name} must be a non-empty sequence of numbers, got {lvl!r}")
        for v in lvl:
            if not is_float_like(v) or not v > 0:
                raise ValueError(f"{name} must hold positive numbers, got {v!r}")
        out.append(tuple(float(v) for v in lvl))
    return tuple(out)


def _hw(value: object, name: str) -> tuple[int, int]:
    pair = (value, value) if is_int_like(value) else value
    if (
        not isinstance(pair, (list, tuple, torch.Size))
        or len(pair) != 2
        or not all(is_int_like(v) and v > 0 for v in pair)
    ):
        raise ValueError(f"{name} must be a positive int or a pair (height, width) of them, got {value!r}")
    return int(pair[0]), int(pair[1])


class AnchorGenerator(nn.Module):
    """``AnchorGenerator(sizes, aspect_ratios)(image_size, feature_sizes) -> list[Tensor[H·W·A, 4]]``.

    ``sizes`` and ``aspect_ratios``: one tuple per feature level (a flat tuple means one level, and a
    single ratio tuple is shared by all levels, as in torchvision). Anchors are xyxy pixels of the input
    image, in ``dtype`` (default float32) on ``device``; one tensor per level.
    """

    def __init__(
        self,
        sizes: Sequence[float] | Sequence[Sequence[float]] = ((128, 256, 512),),
        aspect_ratios: Sequence[float] | Sequence[Sequence[float]] = ((0.5, 1.0, 2.0),),
    ) -> None:
        super().__init__()
        if isinstance(sizes, (list, tuple)) and sizes and not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)  # torchvision: a flat tuple is one size per level
        self.sizes = _as_levels(sizes, "sizes")
        ratios = _as_levels(aspect_ratios, "aspect_ratios")
        if len(ratios) == 1 and len(self.sizes) > 1:
            ratios = ratios * len(self.sizes)
        if len(ratios) != len(self.sizes):
            raise ValueError(
                f"aspect_ratios must give one tuple per level ({len(self.sizes)} levels in sizes), got {len(ratios)}"
            )
        self.aspect_ratios = ratios

    def num_anchors_per_location(self) -> list[int]:
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios, strict=True)]

    def cell_anchors(
        self, level: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> Tensor:
        """Base anchors ``Tensor[A, 4]`` of one level, centred on (0, 0) and rounded.

        Computed in float32 and then cast to ``dtype``, as torchvision does (its base anchors are made in
        float32; computing them in half precision would round ``w``, ``h`` differently).
        """
        scales = torch.as_tensor(self.sizes[level], dtype=torch.float32, device=device)  # [S]
        ratios = torch.as_tensor(self.aspect_ratios[level], dtype=torch.float32, device=device)  # [R]
        h_ratio = torch.sqrt(ratios)
        w_ratio = 1 / h_ratio
        ws = (w_ratio[:, None] * scales[None, :]).reshape(-1)  # [R*S] ratio-major
        hs = (h_ratio[:, None] * scales[None, :]).reshape(-1)
        return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round().to(dtype)

    def forward(
        self,
        image_size: int | Sequence[int],
        feature_sizes: Sequence[int | Sequence[int]],
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> list[Tensor]:
        img_h, img_w = _hw(image_size, "image_size")
        if not isinstance(feature_sizes, (list, tuple)) or len(feature_sizes) != len(self.sizes):
            raise ValueError(
                f"feature_sizes must list one (height, width) per level ({len(self.sizes)} levels), "
                f"got {feature_sizes!r}"
            )
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        out = []
        for level, fs in enumerate(feature_sizes):
            fh, fw = _hw(fs, f"feature_sizes[{level}]")
            if fh > img_h or fw > img_w:
                raise ValueError(f"feature_sizes[{level}] = {(fh, fw)} is larger than image_size {(img_h, img_w)}")
            sh, sw = img_h // fh, img_w // fw
            base = self.cell_anchors(level, dtype, device)  # [A, 4]
            xs = torch.arange(fw, device=device, dtype=torch.int64) * sw  # [W]
            ys = torch.arange(fh, device=device, dtype=torch.int64) * sh  # [H]
            sy, sx = torch.meshgrid(ys, xs, indexing="ij")  # [H, W]
            shifts = torch.stack([sx, sy, sx, sy], dim=-1).reshape(-1, 1, 4).to(dtype)  # [H*W, 1, 4]
            out.append((shifts + base[None]).reshape(-1, 4))  # [H*W*A, 4]
        return out
