"""Soft-NMS (Bodla et al., ICCV 2017; notes: "Soft NMS算法介绍").

Instead of deleting every box that overlaps the current best box ``M``, Soft-NMS decays its score:

* ``linear``:   ``s_i <- s_i (1 - IoU(M, b_i))`` if ``IoU >= iou_threshold`` (``N_t``), else unchanged;
* ``gaussian``: ``s_i <- s_i exp(-IoU(M, b_i)² / σ)`` for every remaining box (``iou_threshold`` unused).

Each round selects the remaining box with the highest *current* score (ties: lowest index, as NMS's
stable sort does), records it with its current score, decays the others, and drops every box whose score
fell below ``score_threshold`` (a box whose score equals it stays). With ``gaussian`` and ``σ -> 0`` every
overlapping box decays to 0, so Soft-NMS becomes ``nms(..., iou_threshold=0.0)``; with ``linear`` and
``N_t`` the NMS threshold it keeps strictly more boxes than NMS.

IoU here is ``|A ∩ B| / |A ∪ B|`` with 0 for an empty union. The loop runs once per selected box (each
round one vectorized update over the remaining boxes), never over box pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from dlprimer.boxes.checks import check_boxes, check_number, check_scores

__all__ = ["DECAYS", "soft_nms"]


def _linear(iou: Tensor, iou_threshold: float, sigma: float) -> Tensor:
    return torch.where(iou >= iou_threshold, 1 - iou, torch.ones_like(iou))


def _gaussian(iou: Tensor, iou_threshold: float, sigma: float) -> Tensor:
    return torch.exp(-(iou * iou) / sigma)


#: method name -> decay factor ``f(iou, iou_threshold, sigma)`` multiplied into the scores
DECAYS: dict[str, Callable[[Tensor, float, float], Tensor]] = {"linear": _linear, "gaussian": _gaussian}


def soft_nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float = 0.3,
    sigma: float = 0.5,
    method: str = "linear",
    score_threshold: float = 0.001,
) -> tuple[Tensor, Tensor]:
    """Soft-NMS on ``boxes: Tensor[N, 4]`` (xyxy, valid) and ``scores: Tensor[N]``.

    Returns ``(keep, decayed)``: ``int64 Tensor[K]`` indices in selection order and ``Tensor[K]`` their
    scores at selection (non-increasing), in the scores' floating dtype (half is computed in float32 and
    cast back). ``iou_threshold`` in ``[0, 1]``, ``sigma > 0``, ``score_threshold >= 0``.
    """
    boxes = check_boxes(boxes, "boxes", ndim=2)
    n = boxes.shape[0]
    scores = check_scores(scores, "scores", n)
    iou_threshold = check_number(iou_threshold, "iou_threshold", low=0.0, high=1.0)
    sigma = check_number(sigma, "sigma", low=0.0, low_open=True)
    score_threshold = check_number(score_threshold, "score_threshold", low=0.0)
    if method not in DECAYS:
        raise ValueError(f"method must be one of {', '.join(map(repr, DECAYS))}, got {method!r}")
    decay = DECAYS[method]
    out_dtype = scores.dtype if scores.is_floating_point() else torch.float32
    dtype = torch.float64 if torch.float64 in (boxes.dtype, scores.dtype) else torch.float32
    b = boxes.to(dtype)
    cur = scores.to(dtype).clone()  # [N] current (decayed) scores
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # [N]
    idx = torch.nonzero(cur >= score_threshold).flatten()  # remaining boxes, index order
    keep: list[Tensor] = []
    kept_scores: list[Tensor] = []
    while idx.numel():
        best = int(torch.argmax(cur[idx]))  # first maximum: lowest index among ties
        i = idx[best]
        keep.append(i)
        kept_scores.append(cur[i])
        idx = torch.cat([idx[:best], idx[best + 1 :]])
        if not idx.numel():
            break
        bi, bo = b[i], b[idx]  # [4], [R, 4]
        w = (torch.min(bi[2], bo[:, 2]) - torch.max(bi[0], bo[:, 0])).clamp(min=0)  # [R]
        h = (torch.min(bi[3], bo[:, 3]) - torch.max(bi[1], bo[:, 1])).clamp(min=0)  # [R]
        inter = w * h
        union = area[i] + area[idx] - inter
        iou = torch.where(union > 0, inter / torch.where(union > 0, union, 1), torch.zeros_like(inter))
        cur[idx] = cur[idx] * decay(iou, iou_threshold, sigma)
        idx = idx[cur[idx] >= score_threshold]
    if not keep:
        return torch.empty(0, dtype=torch.long, device=boxes.device), scores.new_empty(0, dtype=out_dtype)
    return torch.stack(keep), torch.stack(kept_scores).to(out_dtype)
