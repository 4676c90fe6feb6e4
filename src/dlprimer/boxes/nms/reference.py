"""The notes' plain greedy NMS (NMS算法介绍), written to be read in a minute; the tests use it as an oracle.

    sort the boxes by score, best first
    while boxes remain:
        take the best one A and keep it
        drop every remaining box B with IoU(A, B) > iou_threshold

Ties in score keep index order (a stable sort), as torchvision does, and a pair with an empty union has
IoU 0. :func:`dlprimer.boxes.nms` computes the same kept set with vectorized fast paths; this version is
O(N²) in plain Python floats (double precision) and meant for small inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["reference_batched_nms", "reference_nms"]


def _iou(a: list[float], b: list[float]) -> float:
    """IoU of two xyxy boxes; 0 when the union is empty."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def reference_nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Kept indices (int64, best score first) of greedy NMS over ``boxes: [N, 4]`` xyxy and ``scores: [N]``."""
    b, s = boxes.tolist(), scores.tolist()
    remaining = sorted(range(len(s)), key=lambda i: -s[i])  # Python's sort is stable: ties keep index order
    keep = []
    while remaining:
        best = remaining.pop(0)
        keep.append(best)
        remaining = [i for i in remaining if _iou(b[best], b[i]) <= iou_threshold]
    return torch.tensor(keep, dtype=torch.int64)


def reference_batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS within each class ``idxs[i]``; all kept indices, best score first (ties: index order)."""
    keep = []
    for c in sorted(set(idxs.tolist())):
        members = torch.nonzero(idxs == c).flatten()
        keep += members[reference_nms(boxes[members], scores[members], iou_threshold)].tolist()
    s = scores.tolist()
    return torch.tensor(sorted(keep, key=lambda i: (-s[i], i)), dtype=torch.int64)
