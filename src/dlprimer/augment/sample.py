"""The sample convention shared by every random transform, and the box clip-and-drop rule.

A *sample* is a ``dict``::

    {"image": Tensor[C, H, W]  uint8 in [0, 255] or float in [0, 1],
     "boxes": Tensor[N, 4]     float xyxy pixel coordinates, the image spanning [0, W] x [0, H],
     "labels": Tensor[N]       class indices (int64) or any per-box tensor,
     "masks": Tensor[N, H, W]  bool/uint8 instance masks,
     "box_weights": Tensor[N]  optional per-box loss weights (written by detection mixup)}

Everything but ``"image"`` is optional; other keys travel unchanged. The per-box keys
(:data:`PER_BOX_KEYS`) always travel together: a transform that drops a box drops its label, mask and
weight with it.

**Drop rule.** After a geometric transform, each box is clipped to the image and kept only when

* its *visible fraction* ``area(clipped) / area(unclipped)`` (or, with masks, ``mask pixels after /
  mask pixels before``) is at least ``min_visibility``, and
* its clipped width and height are both at least ``min_size`` pixels and strictly positive,

so a transform never emits a degenerate (zero-area) box.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from dlprimer.augment._checks import check_boxes, check_image, check_nonnegative, check_probability
from dlprimer.boxes.convert import box_area, clip_boxes_to_image

__all__ = [
    "PER_BOX_KEYS",
    "Sample",
    "boxes_from_masks",
    "drop_boxes",
    "select_boxes",
    "validate_sample",
]

Sample = dict[str, Tensor]
PER_BOX_KEYS: tuple[str, ...] = ("boxes", "labels", "masks", "box_weights")


def boxes_from_masks(masks: Tensor) -> Tensor:
    """``[N, 4]`` float32 xyxy boxes enclosing the nonzero pixels of ``[N, H, W]`` masks.

    A pixel ``(i, j)`` covers ``[j, j + 1] x [i, i + 1]``, so a single pixel gives a 1 x 1 box. Empty masks
    give ``[0, 0, 0, 0]`` (the drop rule removes them).
    """
    n, h, w = masks.shape
    m = masks.bool()
    cols, rows = m.any(dim=1), m.any(dim=2)  # [N, W], [N, H]
    xs = torch.arange(w, device=masks.device, dtype=torch.float32)
    ys = torch.arange(h, device=masks.device, dtype=torch.float32)
    big = float(max(h, w) + 1)
    x1 = torch.where(cols, xs, big).amin(dim=1) if w else torch.zeros(n)
    x2 = torch.where(cols, xs + 1, -1.0).amax(dim=1) if w else torch.zeros(n)
    y1 = torch.where(rows, ys, big).amin(dim=1) if h else torch.zeros(n)
    y2 = torch.where(rows, ys + 1, -1.0).amax(dim=1) if h else torch.zeros(n)
    out = torch.stack([x1, y1, x2, y2], dim=1)  # [N, 4]
    empty = ~rows.any(dim=1) if h else torch.ones(n, dtype=torch.bool)
    return torch.where(empty[:, None], torch.zeros_like(out), out)


def validate_sample(sample: object, *, boxes_inside: bool = True, name: str = "sample") -> Sample:
    """Check a sample dict: image ``[C, H, W]`` uint8/float, ``boxes [N, 4]`` xyxy (inside the image when
    ``boxes_inside``), ``labels``/``box_weights`` with N rows, ``masks [N, H, W]``. Returns it unchanged."""
    if not isinstance(sample, Mapping):
        raise TypeError(f"{name} must be a dict with an 'image' tensor, got {type(sample).__name__}")
    if "image" not in sample:
        raise ValueError(f"{name} must have an 'image' key, got keys {sorted(sample)}")
    image = check_image(sample["image"], f"{name}['image']")
    h, w = image.shape[-2:]
    n = None
    if "boxes" in sample:
        boxes = check_boxes(sample["boxes"], f"{name}['boxes']", canvas_size=(h, w), inside=boxes_inside)
        if not boxes.is_floating_point():
            raise ValueError(f"{name}['boxes'] must be floating point, got {boxes.dtype}")
        n = boxes.shape[0]
    for key in ("labels", "box_weights", "masks"):
        if key not in sample:
            continue
        t = sample[key]
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}[{key!r}] must be a torch.Tensor, got {type(t).__name__}")
        if n is None:
            raise ValueError(f"{name}[{key!r}] needs {name}['boxes'] to go with it")
        if t.ndim == 0 or t.shape[0] != n:
            raise ValueError(f"{name}[{key!r}] must have one row per box ({n}), got shape {tuple(t.shape)}")
        if key == "masks" and tuple(t.shape) != (n, h, w):
            raise ValueError(f"{name}['masks'] must have shape [N, H, W] = {(n, h, w)}, got {tuple(t.shape)}")
    return sample  # type: ignore[return-value]


def select_boxes(sample: Sample, keep: Tensor) -> Sample:
    """A shallow copy of ``sample`` whose per-box entries keep only the rows ``keep`` (bool or index)."""
    out = dict(sample)
    for key in PER_BOX_KEYS:
        if key in out:
            out[key] = out[key][keep.to(out[key].device)]
    return out


def drop_boxes(
    sample: Sample,
    unclipped: Tensor,
    *,
    min_visibility: float,
    min_size: float,
    visible_fraction: Tensor | None = None,
    region: tuple[float, float, float, float] | None = None,
) -> Sample:
    """Clip ``unclipped`` (the transformed boxes, ``[N, 4]``) to ``sample["image"]`` (or to ``region =
    (x1, y1, x2, y2)``) and apply the drop rule.

    ``visible_fraction`` (``[N]``) overrides ``area(clipped) / area(unclipped)``, e.g. with mask pixel counts.
    Returns a new sample whose ``"boxes"`` are the clipped kept boxes.
    """
    if region is None:
        h, w = sample["image"].shape[-2:]
        clipped = clip_boxes_to_image(unclipped, (h, w))
    else:
        clipped = unclipped.clone()
        clipped[:, 0::2] = clipped[:, 0::2].clamp(region[0], region[2])
        clipped[:, 1::2] = clipped[:, 1::2].clamp(region[1], region[3])
    if visible_fraction is None:
        before = box_area(unclipped)
        visible_fraction = torch.where(before > 0, box_area(clipped) / before.clamp(min=1e-12), 0.0)
    bw, bh = clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]
    keep = (visible_fraction >= min_visibility) & (bw > 0) & (bh > 0) & (bw >= min_size) & (bh >= min_size)
    out = dict(sample)
    out["boxes"] = clipped
    return select_boxes(out, keep)


def check_drop_args(min_visibility: float, min_size: float) -> tuple[float, float]:
    """Validate the two drop-rule parameters."""
    return check_probability(min_visibility, "min_visibility"), check_nonnegative(min_size, "min_size")
