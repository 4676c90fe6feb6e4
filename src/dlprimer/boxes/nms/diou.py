"""DIoU-NMS (Zheng et al., AAAI 2020; notes: "DIoU作为NMS的标准").

Greedy NMS whose overlap criterion is DIoU instead of IoU: taking boxes by decreasing score (stable order),
a remaining box ``j`` is suppressed by a kept box ``i`` when ``IoU(i, j) - ρ²(c_i, c_j) / c² > iou_threshold``
(``ρ`` the distance of the centres, ``c`` the diagonal of the smallest enclosing box). Two overlapping boxes
with distant centres (often two adjacent objects) are penalised less than by plain IoU, so both survive.

``batched_diou_nms`` runs it per category with the coordinate-offset trick: boxes of different categories are
shifted apart so their IoU is 0 and their DIoU negative (``< iou_threshold`` for any threshold ``>= 0``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dlprimer.boxes.checks import check_boxes, check_number, check_scores, check_tensor
from dlprimer.boxes.iou import distance_box_iou

__all__ = ["batched_diou_nms", "diou_nms"]


def diou_nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Kept indices ``int64 Tensor[K]`` by decreasing score. ``boxes: Tensor[N, 4]`` xyxy, ``scores: Tensor[N]``,
    ``iou_threshold >= 0`` (a box is removed when its DIoU with a kept box is ``>`` it)."""
    boxes = check_boxes(boxes, "boxes", ndim=2)
    scores = check_scores(scores, "scores", boxes.shape[0])
    iou_threshold = check_number(iou_threshold, "iou_threshold", low=0.0)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices  # [N]
    b = boxes[order].to(torch.float64 if boxes.dtype == torch.float64 else torch.float32)
    over = (distance_box_iou(b, b) > iou_threshold).cpu().numpy()  # [N, N]
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= over[i]
    return order[torch.as_tensor(keep, dtype=torch.long, device=boxes.device)]


def batched_diou_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Per-category DIoU-NMS (``idxs: Tensor[N]`` integer categories); kept indices by decreasing score."""
    boxes = check_boxes(boxes, "boxes", ndim=2)
    idxs = check_tensor(idxs, "idxs")
    if idxs.is_floating_point() or idxs.shape != (boxes.shape[0],):
        raise ValueError(f"idxs must be an integer tensor of shape [{boxes.shape[0]}], got {idxs.dtype} "
                         f"{tuple(idxs.shape)}")
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    span = boxes.max() - boxes.min() + 1
    offsets = idxs.to(boxes.dtype if boxes.is_floating_point() else torch.float32) * 2 * span  # [N]
    return diou_nms(boxes + offsets[:, None], scores, iou_threshold)
