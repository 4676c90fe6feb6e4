"""Bounding-box voting (Gidaris & Komodakis, ICCV 2015; Detectron's ``box_voting``; notes:
"bounding box voting介绍").

After NMS, each kept box is refined by the boxes around it: it is replaced by the score-weighted mean of
itself and of every box (suppressed or not) whose IoU with it **exceeds** ``iou_threshold``:

    b_k' = (s_k b_k + Σ_{j: IoU(b_k, b_j) > t, b_j ≠ b_k} s_j b_j) / (s_k + Σ_j s_j)

The kept box enters once, with its kept score. Since NMS keeps boxes out of ``boxes``, the copy of the
kept box found in ``boxes`` (identical coordinates and score) is that same box and is not counted
twice (only the first such copy: an exact duplicate elsewhere in ``boxes`` is another detection and
votes); with ``kept_scores = scores[keep]`` this is exactly Detectron's "weighted mean of all boxes with
IoU above the threshold". (The notes say only the suppressed boxes vote; the kept box's own vote is
what makes a lone kept box stay where it is, so it is included, as in Detectron and the issue's spec.)
The notes' last step, filtering by score, is left to the caller; scores are not changed. If the total
weight is 0 (all scores 0) the kept box is returned unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer.boxes.checks import check_boxes, check_number, check_scores
from dlprimer.boxes.iou import box_iou

__all__ = ["box_voting"]


def box_voting(kept_boxes: Tensor, kept_scores: Tensor, boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Refine ``kept_boxes: Tensor[K, 4]`` by the votes of ``boxes: Tensor[N, 4]`` (all xyxy, valid).

    ``kept_scores: Tensor[K]`` and ``scores: Tensor[N]`` are non-negative weights; ``iou_threshold`` in
    ``[0, 1]``. Returns the voted boxes ``Tensor[K, 4]`` in the boxes' floating dtype (half is computed
    in float32).
    """
    kept_boxes = check_boxes(kept_boxes, "kept_boxes", ndim=2)
    boxes = check_boxes(boxes, "boxes", ndim=2)
    kept_scores = check_scores(kept_scores, "kept_scores", kept_boxes.shape[0])
    scores = check_scores(scores, "scores", boxes.shape[0])
    iou_threshold = check_number(iou_threshold, "iou_threshold", low=0.0, high=1.0)
    for name, s in (("kept_scores", kept_scores), ("scores", scores)):
        if s.numel() and bool((s < 0).any()):
            raise ValueError(f"{name} must be non-negative (they are voting weights), got min {float(s.min())}")
    out_dtype = kept_boxes.dtype if kept_boxes.is_floating_point() else torch.float32
    dtype = torch.float64 if torch.float64 in (kept_boxes.dtype, boxes.dtype) else torch.float32
    kb, ks, b, s = kept_boxes.to(dtype), kept_scores.to(dtype), boxes.to(dtype), scores.to(dtype)
    if kb.shape[0] == 0:
        return kb.to(out_dtype)
    iou = box_iou(kb, b)  # [K, N]
    same = (kb[:, None, :] == b[None, :, :]).all(-1) & (ks[:, None] == s[None, :])  # [K, N] copies of the kept box
    same &= torch.cumsum(same.to(torch.int32), 1) == 1  # only the first copy is the kept box itself
    w = torch.where((iou > iou_threshold) & ~same, s[None, :], torch.zeros_like(iou))  # [K, N]
    num = ks[:, None] * kb + w @ b  # [K, 4]
    den = ks + w.sum(1)  # [K]
    voted = torch.where(den[:, None] > 0, num / torch.where(den > 0, den, 1)[:, None], kb)
    return voted.to(out_dtype)
