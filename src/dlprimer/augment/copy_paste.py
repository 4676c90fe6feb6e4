"""Copy-paste (notes: 数据增强 11 copypaste; Ghiasi et al., "Simple Copy-Paste", 2021).

Instances of a *source* sample are cut out with their masks and pasted onto a *destination* sample of the
same size (the source is resized to the destination's size first). Later pasted instances lie on top of
earlier ones. Destination objects hidden by the pasted pixels lose those pixels from their masks and get
tight boxes from what remains; an object whose visible fraction falls below ``min_visibility`` is dropped.

**Box-only data (no masks): rectangle fallback.** An instance without a mask is pasted as its whole box
rectangle (the pixels whose centres lie inside the box) -- background included. This is never a silent no-op
(unlike tools that skip copy-paste without masks); destination boxes are kept as they are and dropped when
the pasted rectangles cover more than ``1 - min_visibility`` of their area.

The output has ``"masks"`` iff the destination has them (pasted box-only instances then get rectangle masks).
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer.augment._base import MultiSampleTransform
from dlprimer.augment._checks import check_probability
from dlprimer.augment.sample import Sample, boxes_from_masks, check_drop_args, drop_boxes, validate_sample

__all__ = ["CopyPaste", "copy_paste", "rectangle_masks"]


def rectangle_masks(boxes: Tensor, canvas_size: tuple[int, int]) -> Tensor:
    """``[N, H, W]`` bool masks of the pixels whose centres ``(j + 0.5, i + 0.5)`` lie inside each box."""
    h, w = canvas_size
    xs = torch.arange(w, device=boxes.device, dtype=boxes.dtype) + 0.5  # [W]
    ys = torch.arange(h, device=boxes.device, dtype=boxes.dtype) + 0.5  # [H]
    in_x = (xs >= boxes[:, 0:1]) & (xs < boxes[:, 2:3])  # [N, W]
    in_y = (ys >= boxes[:, 1:2]) & (ys < boxes[:, 3:4])  # [N, H]
    return in_y[:, :, None] & in_x[:, None, :]  # [N, H, W]


def _covered_fraction(boxes: Tensor, covered: Tensor) -> Tensor:
    """``[N]`` fraction of each box's pixels (centre rule) that are ``covered`` (``[H, W]`` bool)."""
    rect = rectangle_masks(boxes, tuple(covered.shape))  # [N, H, W]
    inside = rect.flatten(1).sum(dim=1)
    hit = (rect & covered).flatten(1).sum(dim=1)
    return torch.where(inside > 0, hit / inside.clamp(min=1), 1.0)


def copy_paste(
    dst: Sample, src: Sample, indices: Tensor, *, min_visibility: float = 0.25, min_size: float = 1.0
) -> Sample:
    """Paste the source instances ``indices`` onto ``dst`` (deterministic; see the module docstring).

    Returns a sample whose boxes (and labels, masks, weights) are the kept destination instances followed by
    the pasted ones.
    """
    min_visibility, min_size = check_drop_args(min_visibility, min_size)
    validate_sample(dst, name="dst")
    validate_sample(src, name="src")
    if "boxes" not in src:
        raise ValueError("copy_paste needs 'boxes' on the source sample (the instances to paste)")
    di, si = dst["image"], src["image"]
    if di.dtype != si.dtype or di.shape[0] != si.shape[0]:
        raise ValueError(
            f"copy_paste needs images of one dtype and channel count, got {di.dtype} {di.shape[0]} channels "
            f"and {si.dtype} {si.shape[0]} channels"
        )
    h, w = di.shape[-2:]
    if si.shape[-2:] != (h, w):
        from dlprimer.augment.geometric import resize_sample

        src = resize_sample(src, (h, w))
        si = src["image"]
    idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
    n_src = src["boxes"].shape[0]
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n_src):
        raise ValueError(f"indices must lie in [0, {n_src - 1}], got {idx.tolist()}")
    boxes = src["boxes"][idx]
    if "masks" in src:
        masks = src["masks"][idx].bool()  # [P, H, W]
    else:
        masks = rectangle_masks(boxes, (h, w))  # the rectangle fallback
    # later instances lie on top: remove from each mask the union of the ones pasted after it
    later = masks.flip(0).int().cumsum(0).flip(0) - masks.int()  # [P, H, W] count of later masks
    masks = masks & (later == 0)
    covered = masks.any(dim=0) if masks.shape[0] else torch.zeros((h, w), dtype=torch.bool, device=di.device)
    out = dict(dst)
    out["image"] = torch.where(covered, si, di)

    # destination instances: occluded by the pasted pixels
    if "boxes" in dst:
        db = dst["boxes"]
        if "masks" in dst:
            before = dst["masks"].flatten(1).count_nonzero(dim=1)
            out["masks"] = dst["masks"] & ~covered if dst["masks"].dtype == torch.bool else (
                dst["masks"] * (~covered).to(dst["masks"].dtype))
            visible = torch.where(before > 0, out["masks"].flatten(1).count_nonzero(dim=1) / before.clamp(min=1), 0.0)
            new_boxes = boxes_from_masks(out["masks"]).to(db.dtype)
        else:
            visible = 1.0 - _covered_fraction(db, covered)
            new_boxes = db
        out = drop_boxes(out, new_boxes, min_visibility=min_visibility, min_size=min_size, visible_fraction=visible)

    # pasted instances: tight boxes of what stays visible when masks are known, else their boxes
    pasted: Sample = {"image": out["image"]}
    if "masks" in src:
        orig = src["masks"][idx].bool().flatten(1).count_nonzero(dim=1)
        visible = torch.where(orig > 0, masks.flatten(1).count_nonzero(dim=1) / orig.clamp(min=1), 0.0)
        p_boxes = boxes_from_masks(masks).to(boxes.dtype)
    else:
        full = rectangle_masks(boxes, (h, w))  # before the later pastes hid parts of it
        n_full = full.flatten(1).sum(dim=1)
        visible = torch.where(n_full > 0, masks.flatten(1).sum(dim=1) / n_full.clamp(min=1), 0.0)
        p_boxes = boxes
    pasted["boxes"] = p_boxes
    for key in ("labels", "box_weights"):
        if key in src:
            pasted[key] = src[key][idx]
    if "masks" in out:
        pasted["masks"] = masks.to(out["masks"].dtype)
    pasted = drop_boxes(pasted, p_boxes, min_visibility=min_visibility, min_size=min_size, visible_fraction=visible)
    pasted = {k: v for k, v in pasted.items() if k != "image"}

    if "boxes" not in dst:
        out.update(pasted)
        return out
    n_dst = out["boxes"].shape[0]
    out["boxes"] = torch.cat([out["boxes"], pasted["boxes"].to(out["boxes"].dtype)])
    if "labels" in out and "labels" in pasted:
        out["labels"] = torch.cat([out["labels"], pasted["labels"].to(out["labels"].dtype)])
    elif "labels" in out or "labels" in pasted:
        raise ValueError("copy_paste needs 'labels' on both samples or on neither")
    if "box_weights" in out or "box_weights" in pasted:
        ref = out["boxes"]
        wd = out.get("box_weights", torch.ones(n_dst, dtype=ref.dtype, device=ref.device))
        wp = pasted.get("box_weights", torch.ones(pasted["boxes"].shape[0], dtype=ref.dtype, device=ref.device))
        out["box_weights"] = torch.cat([wd, wp.to(wd.dtype)])
    if "masks" in out:
        out["masks"] = torch.cat([out["masks"], pasted["masks"]])
    return out


class CopyPaste(MultiSampleTransform):
    """Paste a random subset of the second sample's instances onto the first: each instance independently
    with probability ``p_instance`` (at least one when the source has any). See :func:`copy_paste`."""

    num_samples = 2

    def __init__(self, p_instance: float = 0.5, min_visibility: float = 0.25, min_size: float = 1.0) -> None:
        self.p_instance = check_probability(p_instance, "p_instance")
        self.min_visibility, self.min_size = check_drop_args(min_visibility, min_size)

    def forward(self, samples: list[Sample], generator: torch.Generator | None) -> Sample:
        dst, src = samples
        n = src["boxes"].shape[0] if "boxes" in src else 0
        if n == 0:
            return dst
        chosen = torch.rand(n, generator=generator) < self.p_instance
        if not bool(chosen.any()) and self.p_instance > 0:
            chosen[int(torch.randint(0, n, (), generator=generator))] = True
        return copy_paste(dst, src, chosen.nonzero().flatten(),
                          min_visibility=self.min_visibility, min_size=self.min_size)
