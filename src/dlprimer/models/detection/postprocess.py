"""Candidate boxes → final detections: the NMS family by name (``--nms``).

* ``hard``: greedy per-class NMS, torchvision's ``batched_nms`` (faster than ours at the ~1k clustered boxes a
  detector produces; :func:`dlprimer.boxes.batched_nms` is the readable reference, equal to it and benchmarked);
* ``soft-linear`` / ``soft-gaussian``: Soft-NMS per class (:func:`dlprimer.boxes.soft_nms`), scores decayed;
* ``voting``: hard NMS, then each kept box replaced by the score-weighted mean of the same-class candidates
  overlapping it (:func:`dlprimer.boxes.box_voting`);
* ``diou``: per-class DIoU-NMS (:func:`dlprimer.boxes.nms.batched_diou_nms`).

The result keeps at most ``max_dets`` boxes by decreasing score.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import check_choice

__all__ = ["NMS_MODES", "batched_nms_fast", "suppress"]

NMS_MODES = ("hard", "soft-linear", "soft-gaussian", "voting", "diou")


def batched_nms_fast(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    """torchvision's ``batched_nms`` when installed, else ours (same kept set)."""
    try:
        from torchvision.ops import batched_nms
    except ImportError:  # pragma: no cover - torchvision is installed with the detection extra
        from dlprimer.boxes import batched_nms
    return batched_nms(boxes, scores, labels, iou_threshold)


def suppress(
    boxes: Tensor, scores: Tensor, labels: Tensor, mode: str = "hard", iou_threshold: float = 0.6, max_dets: int = 100
) -> tuple[Tensor, Tensor, Tensor]:
    """``(boxes [K, 4], scores [K], labels [K])`` after the NMS variant ``mode`` (see the module docstring)."""
    mode = check_choice(mode, "nms", NMS_MODES)
    if boxes.shape[0] == 0:
        return boxes, scores, labels
    if mode in ("hard", "voting"):
        keep = batched_nms_fast(boxes, scores, labels, iou_threshold)[:max_dets]
        out_boxes = boxes[keep]
        if mode == "voting":
            from dlprimer.boxes import box_voting

            out_boxes = out_boxes.clone()
            for c in labels[keep].unique():
                sel, cand = labels[keep] == c, labels == c
                out_boxes[sel] = box_voting(out_boxes[sel], scores[keep][sel], boxes[cand], scores[cand], iou_threshold)
        return out_boxes, scores[keep], labels[keep]
    if mode == "diou":
        from dlprimer.boxes.nms import batched_diou_nms

        keep = batched_diou_nms(boxes, scores, labels, iou_threshold)[:max_dets]
        return boxes[keep], scores[keep], labels[keep]
    from dlprimer.boxes import soft_nms

    parts_b, parts_s, parts_l = [], [], []
    for c in labels.unique():
        idx = torch.nonzero(labels == c).flatten()
        keep, decayed = soft_nms(boxes[idx], scores[idx], iou_threshold=0.3, sigma=0.5,
                                 method="linear" if mode == "soft-linear" else "gaussian", score_threshold=0.001)
        parts_b.append(boxes[idx[keep]])
        parts_s.append(decayed.to(scores.dtype))
        parts_l.append(labels[idx[keep]])
    b, s, lab = torch.cat(parts_b), torch.cat(parts_s), torch.cat(parts_l)
    order = torch.sort(s, descending=True, stable=True).indices[:max_dets]
    return b[order], s[order], lab[order]
