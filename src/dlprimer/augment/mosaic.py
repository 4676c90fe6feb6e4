"""Mosaic: four samples tiled around a random centre (notes: 数据增强 10 mosaic; YOLOv4, Bochkovskiy 2020).

The output canvas is ``output_size = (H, W)``. A centre ``(cx, cy)`` splits it into four tiles: top-left
``[0, cx] x [0, cy]``, top-right ``[cx, W] x [0, cy]``, bottom-left ``[0, cx] x [cy, H]``, bottom-right
``[cx, W] x [cy, H]``. Sample ``k`` is resized by ``f_k = s_k min(H / h_k, W / w_k)`` (``s_k`` its random
scale) and placed with one corner at the centre (the top-left image's bottom-right corner, etc.); what falls
outside its tile is cut away. Its boxes are scaled by the exact size ratio, shifted, clipped *to its tile*
and dropped by the usual rule (visible fraction below ``min_visibility`` or a side below ``min_size``), so
every kept box lies in its tile and no sliver is emitted. Uncovered pixels get ``fill``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dlprimer._checks import is_int_like
from dlprimer.augment._base import MultiSampleTransform
from dlprimer.augment._checks import check_range, uniform
from dlprimer.augment.sample import PER_BOX_KEYS, Sample, check_drop_args, drop_boxes, validate_sample

__all__ = ["Mosaic", "mosaic"]


def _tiles(h: int, w: int, cx: int, cy: int) -> list[tuple[int, int, int, int]]:
    """``(x1, y1, x2, y2)`` of the top-left, top-right, bottom-left and bottom-right tiles."""
    return [(0, 0, cx, cy), (cx, 0, w, cy), (0, cy, cx, h), (cx, cy, w, h)]


def mosaic(
    samples: Sequence[Sample],
    output_size: Sequence[int],
    center: Sequence[int],
    scales: Sequence[float],
    *,
    fill: float | None = None,
    min_visibility: float = 0.25,
    min_size: float = 2.0,
) -> Sample:
    """Deterministic mosaic of exactly four samples (see the module docstring). ``center = (cx, cy)`` in
    pixels with ``0 < cx < W``, ``0 < cy < H``; ``scales`` four positive factors; ``fill`` defaults to grey
    114 (uint8) or 114/255 (float). Masks are kept only when all four samples have them."""
    if not isinstance(samples, Sequence) or len(samples) == 0:
        raise ValueError("mosaic needs 4 samples, got an empty input")
    if len(samples) != 4:
        raise ValueError(f"mosaic needs exactly 4 samples, got {len(samples)}")
    for k, s in enumerate(samples):
        validate_sample(s, name=f"samples[{k}]")
    if len(output_size) != 2 or not all(is_int_like(v) and v >= 2 for v in output_size):
        raise ValueError(f"output_size must be (H, W) of ints >= 2, got {output_size!r}")
    h, w = int(output_size[0]), int(output_size[1])
    cx, cy = (int(c) for c in center)
    if not (0 < cx < w and 0 < cy < h):
        raise ValueError(f"center must satisfy 0 < cx < W = {w} and 0 < cy < H = {h}, got {tuple(center)}")
    if len(scales) != 4 or not all(float(s) > 0 for s in scales):
        raise ValueError(f"scales must be 4 positive factors, got {scales!r}")
    min_visibility, min_size = check_drop_args(min_visibility, min_size)
    first = samples[0]["image"]
    for k, s in enumerate(samples):
        img = s["image"]
        if img.dtype != first.dtype or img.shape[0] != first.shape[0]:
            raise ValueError(
                f"mosaic needs images of one dtype and channel count; samples[{k}] has {img.dtype}, "
                f"{img.shape[0]} channels, samples[0] {first.dtype}, {first.shape[0]} channels"
            )
    has_boxes = ["boxes" in s for s in samples]
    if any(has_boxes) and not all(has_boxes):
        raise ValueError("mosaic needs 'boxes' on all 4 samples or on none")
    keep_masks = all("masks" in s for s in samples)
    if fill is None:
        fill = 114.0 if first.dtype == torch.uint8 else 114.0 / 255.0

    from dlprimer.augment.geometric import resize_sample

    canvas = torch.full((first.shape[0], h, w), float(fill), dtype=first.dtype, device=first.device)
    parts: list[Sample] = []
    for k, (s, (tx1, ty1, tx2, ty2)) in enumerate(zip(samples, _tiles(h, w, cx, cy), strict=True)):
        sh, sw = s["image"].shape[-2:]
        f = float(scales[k]) * min(h / sh, w / sw)
        nh, nw = max(1, round(sh * f)), max(1, round(sw * f))
        src = dict(s) if keep_masks else {key: v for key, v in s.items() if key != "masks"}
        src = resize_sample(src, (nh, nw)) if (nh, nw) != (sh, sw) else src
        # top-left corner of the placed image: its inner corner touches the centre
        ox = cx - nw if k in (0, 2) else cx
        oy = cy - nh if k in (0, 1) else cy
        x1, y1, x2, y2 = max(tx1, ox), max(ty1, oy), min(tx2, ox + nw), min(ty2, oy + nh)
        if x2 > x1 and y2 > y1:
            canvas[:, y1:y2, x1:x2] = src["image"][:, y1 - oy : y2 - oy, x1 - ox : x2 - ox]
        if "boxes" not in src:
            continue
        part: Sample = {key: src[key] for key in PER_BOX_KEYS if key in src}
        part["image"] = canvas  # only its size is used by the drop rule
        visible = None
        if keep_masks:
            placed = torch.zeros((src["masks"].shape[0], h, w), dtype=src["masks"].dtype, device=first.device)
            if x2 > x1 and y2 > y1:
                placed[:, y1:y2, x1:x2] = src["masks"][:, y1 - oy : y2 - oy, x1 - ox : x2 - ox]
            before = src["masks"].flatten(1).count_nonzero(dim=1)
            visible = torch.where(before > 0, placed.flatten(1).count_nonzero(dim=1) / before.clamp(min=1), 0.0)
            part["masks"] = placed
        boxes = src["boxes"]
        shifted = boxes + torch.tensor([ox, oy, ox, oy], dtype=boxes.dtype, device=boxes.device)
        parts.append(
            drop_boxes(part, shifted, min_visibility=min_visibility, min_size=min_size,
                       visible_fraction=visible, region=(tx1, ty1, tx2, ty2))
        )
    out: Sample = {"image": canvas}
    if parts:
        out["boxes"] = torch.cat([p["boxes"] for p in parts])  # [N, 4]
        if all("labels" in p for p in parts):
            out["labels"] = torch.cat([p["labels"] for p in parts])
        if any("box_weights" in p for p in parts):
            out["box_weights"] = torch.cat(
                [p.get("box_weights", torch.ones(p["boxes"].shape[0], dtype=p["boxes"].dtype, device=p["boxes"].device))
                 for p in parts]
            )
        if keep_masks:
            out["masks"] = torch.cat([p["masks"] for p in parts])
    return out


class Mosaic(MultiSampleTransform):
    """Random mosaic of 4 samples into ``output_size = (H, W)``: centre ``(U(center) W, U(center) H)``
    (rounded, kept inside), per-image scales ``U(scale)``. See :func:`mosaic`."""

    num_samples = 4

    def __init__(
        self,
        output_size: Sequence[int] = (128, 128),
        center: Sequence[float] = (0.25, 0.75),
        scale: Sequence[float] = (0.5, 1.0),
        fill: float | None = None,
        min_visibility: float = 0.25,
        min_size: float = 2.0,
    ) -> None:
        if len(output_size) != 2 or not all(is_int_like(v) and v >= 2 for v in output_size):
            raise ValueError(f"output_size must be (H, W) of ints >= 2, got {output_size!r}")
        self.output_size = (int(output_size[0]), int(output_size[1]))
        self.center = check_range(center, "center", low=0.0, high=1.0)
        self.scale = check_range(scale, "scale", low=1e-6)
        self.fill = fill
        self.min_visibility, self.min_size = check_drop_args(min_visibility, min_size)

    def __call__(self, samples: list[Sample], generator: torch.Generator | None = None) -> Sample:
        if isinstance(samples, (list, tuple)) and len(samples) == 0:
            raise ValueError("mosaic needs 4 samples, got an empty input")
        return super().__call__(samples, generator)

    def forward(self, samples: list[Sample], generator: torch.Generator | None) -> Sample:
        h, w = self.output_size
        cx = min(max(round(uniform(*self.center, generator) * w), 1), w - 1)
        cy = min(max(round(uniform(*self.center, generator) * h), 1), h - 1)
        scales = [uniform(*self.scale, generator) for _ in range(4)]
        return mosaic(samples, (h, w), (cx, cy), scales, fill=self.fill,
                      min_visibility=self.min_visibility, min_size=self.min_size)

