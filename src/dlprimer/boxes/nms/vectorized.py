"""Non-maximum suppression: ``nms`` and ``batched_nms`` with torchvision's kept sets (notes: "NMS算法介绍").

Greedy NMS: sort the boxes by score (descending, **stable**, so equal scores keep index order), take the
best remaining box, discard every remaining box whose IoU with it is **greater than** ``iou_threshold``,
repeat. The result is the kept indices in decreasing score order.

Exactness. torchvision's CPU kernel computes ``ovr = inter / (area_i + area_j - inter)`` in the box dtype
(``inter = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1))``, areas precomputed) and compares it to
the threshold held as a double (``ovr > iou_threshold``). We evaluate the same expression in the same
dtype with the same operation order, and compare against the largest value of that dtype not above the
threshold, which decides ``ovr > thr`` exactly as a double comparison would. Two zero-area boxes give
``0 / 0 = NaN``, which suppresses nothing, as in torchvision. Half precision and bfloat16 are computed in
float32 (torchvision's CUDA kernel does the same).

Speed. torchvision's CPU kernel is an O(N²) scalar loop. Three vectorized strategies give the same result:

* sparse (boxes that overlap few others, e.g. ``batched_nms``'s class-shifted boxes): a uniform grid finds
  the overlapping pairs, their IoUs give suppression edges, and the edges are resolved in rounds
  (:mod:`dlprimer.boxes.nms._sparse`);
* push (crowded boxes, the usual detector output): each score-ordered block is resolved, then its kept
  boxes remove every box they suppress from all later boxes at once, so a few blocks settle the input
  (:mod:`dlprimer.boxes.nms._push`; per class for ``batched_nms``: :mod:`dlprimer.boxes.nms._classes`).
  It runs first; when a block removes little, the boxes left go to one of the other two strategies;
* dense blocked (crowded boxes): boxes are processed in score-ordered blocks (64, 128, ... 512 boxes,
  restarting for every class in ``batched_nms``); a block is first filtered by
  the boxes already kept (one vectorized ``[K, B]`` IoU test), then resolved internally from its
  strictly-upper-triangular suppression matrix ``S`` by a few rounds of the fixed-point iteration
  ``keep = ~any(S[keep])`` or, for long suppression chains, by visiting only the boxes that are kept.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer.boxes.checks import check_boxes, check_number, check_scores, check_tensor
from dlprimer.boxes.nms._classes import greedy_keep_classes, push_keep_classes
from dlprimer.boxes.nms._push import push_keep
from dlprimer.boxes.nms._sparse import resolve_edges, suppression_edges

__all__ = ["batched_nms", "nms"]

_BLOCK = 512
_MAX_FIXED_POINT_STEPS = 4
_CROWDED = 0.05  # fraction of a probe that one block suppresses above which per-class pushing pays


def threshold_below(threshold: float, dtype: torch.dtype) -> Tensor:
    """Largest ``dtype`` value ``t <= threshold``: for any ``x`` of that dtype, ``x > t`` iff ``x > threshold``."""
    t = torch.tensor(threshold, dtype=dtype)
    if float(t) > threshold:
        t = torch.nextafter(t, torch.tensor(float("-inf"), dtype=dtype))
    return t


def _overlap(ci: Tensor, cj: Tensor) -> Tensor:
    """torchvision's NMS overlap ``[K, B]`` between columns ``(x1, y1, x2, y2, area)``: ``[5, K]``, ``[5, B]``.

    Same expression and order as the kernel: ``inter / (area_i + area_j - inter)``.
    """
    x1i, y1i, x2i, y2i, ai = ci[:, :, None]  # [K, 1] each
    x1j, y1j, x2j, y2j, aj = cj[:, None, :]  # [1, B] each
    w = torch.min(x2i, x2j).sub_(torch.max(x1i, x1j)).clamp_(min=0)  # [K, B]
    h = torch.min(y2i, y2j).sub_(torch.max(y1i, y1j)).clamp_(min=0)  # [K, B]
    inter = w.mul_(h)
    return inter / (ai + aj).sub_(inter)


def _resolve_block(sup: Tensor) -> Tensor:
    """Greedy keep mask of one block of live boxes: ``sup[i, j]`` (i before j) means a kept ``i`` removes ``j``.

    A few rounds of the fixed-point iteration settle blocks with short suppression chains (spread-out
    boxes); otherwise the block is finished by visiting only the boxes that end up kept (clusters).
    """
    b = sup.shape[0]
    keep = torch.ones(b, dtype=torch.bool, device=sup.device)
    for _ in range(_MAX_FIXED_POINT_STEPS):
        new = ~(sup & keep[:, None]).any(0)
        if torch.equal(new, keep):
            return keep
        keep = new
    keep = torch.zeros(b, dtype=torch.bool, device=sup.device)
    rest = torch.ones(b, dtype=torch.bool, device=sup.device)
    while True:
        i = int(torch.argmax(rest.to(torch.uint8)))  # first undecided box: kept
        if not bool(rest[i]):
            return keep
        keep[i] = True
        rest &= ~sup[i]
        rest[i] = False


def _block_bounds(n: int, segments: list[int] | None = None) -> list[tuple[int, int]]:
    """Score-ordered blocks growing 64, 128, ... up to ``_BLOCK``: the best boxes, which do most of the
    suppressing, are settled first and cheaply; later blocks are mostly removed by them in one test.

    With ``segments`` (sizes of consecutive label groups) the growth restarts in every group, and small
    neighbouring pieces are merged up to 64 boxes. Any partition gives the same result; this is speed only.
    """
    pieces = []
    start = 0
    for seg in segments if segments is not None else [n]:
        stop, size = start + seg, 64
        while start < stop:
            pieces.append((start, min(start + size, stop)))
            start += size
            size = min(2 * size, _BLOCK)
        start = stop
    bounds: list[tuple[int, int]] = []
    for a, b in pieces:
        if bounds and b - bounds[-1][0] <= 64:
            bounds[-1] = (bounds[-1][0], b)
        else:
            bounds.append((a, b))
    return bounds


def _greedy_keep(boxes: Tensor, threshold: float, labels: Tensor | None = None, sparse: bool = True) -> Tensor:
    """Keep mask ``[N]`` of greedy NMS on ``boxes: [N, 4]`` already sorted by decreasing score.

    With ``labels: [N]`` (non-decreasing: boxes sorted class-major, by score within a class) a box only
    suppresses boxes of its own label, and a block is only compared with the kept boxes of its labels.
    """
    n = boxes.shape[0]
    t = threshold_below(threshold, boxes.dtype).to(boxes.device)
    x1, y1, x2, y2 = (c.contiguous() for c in boxes.unbind(1))  # [N] each
    cols = (x1, y1, x2, y2, (x2 - x1) * (y2 - y1))
    if sparse and n > 64 and bool(torch.isfinite(boxes).all()):
        edges = suppression_edges(cols, t, labels)
        if edges is not None:
            return resolve_edges(n, *edges)
    table = torch.stack(cols)  # [5, N]
    if labels is not None:
        counts = torch.unique_consecutive(labels, return_counts=True)[1]  # [C]
        if counts.shape[0] > 1 and counts.shape[0] * int(counts.max()) <= 4 * n:  # little padding
            return greedy_keep_classes(table, counts, t)
    keep = torch.zeros(n, dtype=torch.bool, device=boxes.device)
    kept = table[:, :0]  # [5, K] columns of the boxes kept so far
    kept_labels = labels[:0] if labels is not None else None
    segments = None
    if labels is not None:
        segments = torch.unique_consecutive(labels, return_counts=True)[1].tolist()
    for start, stop in _block_bounds(n, segments):
        cj = table[:, start:stop]  # [5, B]
        lj = labels[start:stop] if labels is not None else None
        k_first = 0
        if lj is not None:  # kept boxes of earlier labels cannot suppress this block
            k_first = int(torch.searchsorted(kept_labels, lj[:1]))
        live = None
        if k_first < kept.shape[1]:
            alive = torch.ones(stop - start, dtype=torch.bool, device=boxes.device)
            for k0 in range(k_first, kept.shape[1], 4 * _BLOCK):  # bounded [K, B] temporaries
                hit = _overlap(kept[:, k0 : k0 + 4 * _BLOCK], cj) > t  # [K, B]
                if lj is not None:
                    hit &= kept_labels[k0 : k0 + 4 * _BLOCK][:, None] == lj[None, :]
                alive &= ~hit.any(0)
            live = torch.nonzero(alive).flatten()  # boxes not removed by earlier blocks
            cj = cj[:, live]
            if lj is not None:
                lj = lj[live]
        sup = torch.triu(_overlap(cj, cj) > t, diagonal=1)  # [A, A]
        if lj is not None:
            sup &= lj[:, None] == lj[None, :]
        block_keep = _resolve_block(sup)  # [A]
        if live is None:
            keep[start:stop] = block_keep
        else:
            keep[start + live[block_keep]] = True
        kept = torch.cat([kept, cj[:, block_keep]], 1)
        if lj is not None:
            kept_labels = torch.cat([kept_labels, lj[block_keep]])
    return keep


def _keep_sorted(boxes: Tensor, threshold: float, labels: Tensor | None = None) -> Tensor:
    """Keep mask ``[N]`` of greedy NMS on ``boxes: [N, 4]`` sorted by decreasing score (``labels``: any order).

    First the push algorithm (:mod:`dlprimer.boxes.nms._push`), which settles crowded inputs in a few
    blocks; if a block suppresses little, the live boxes left are finished by :func:`_greedy_keep`
    (sparse grid or dense blocks, class-major when there are labels). Both are exact.
    """
    t = threshold_below(threshold, boxes.dtype).to(boxes.device)
    x1, y1, x2, y2 = boxes.unbind(1)  # [N] each
    table = torch.stack((x1, y1, x2, y2, (x2 - x1) * (y2 - y1)))  # [5, N]
    # without labels pushing pays even when a block drops few boxes; with labels the per-class push takes over
    keep, rest, drop = push_keep(table, t, labels, min_drop=0.15 if labels is None else 0.5)
    if rest.numel():
        if labels is None:
            keep[rest[_greedy_keep(boxes[rest], threshold)]] = True
            return keep
        rest = rest[torch.sort(labels[rest], stable=True).indices]  # class-major, by score within a class
        lr = labels[rest]
        counts = torch.unique_consecutive(lr, return_counts=True)[1]  # [C]
        if drop >= _CROWDED:
            # many boxes suppressed, by few of their own class: push within every class at once
            sub, left = push_keep_classes(table[:, rest], counts, t)
            keep[rest[sub]] = True
            rest = rest[left]
            if rest.numel():
                keep[rest[_greedy_keep(boxes[rest], threshold, labels=labels[rest])]] = True
        else:
            keep[rest[_greedy_keep(boxes[rest], threshold, labels=lr)]] = True
    return keep


def _prepare(boxes: Tensor, scores: Tensor, iou_threshold: float) -> tuple[Tensor, Tensor, float]:
    boxes = check_boxes(boxes, "boxes", ndim=2)
    scores = check_scores(scores, "scores", boxes.shape[0])
    iou_threshold = check_number(iou_threshold, "iou_threshold", low=0.0)
    if scores.device != boxes.device:
        raise ValueError(f"boxes and scores must be on the same device, got {boxes.device} and {scores.device}")
    if boxes.dtype not in (torch.float32, torch.float64):
        boxes = boxes.float()
    return boxes, scores, iou_threshold


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS. ``boxes: Tensor[N, 4]`` xyxy (``x2 >= x1``, ``y2 >= y1``), ``scores: Tensor[N]``.

    Removes every box whose IoU with a higher-scoring kept box is ``> iou_threshold`` (``>= 0``).
    Returns ``int64 Tensor[K]``: kept indices by decreasing score (ties: lower index first), equal to
    ``torchvision.ops.nms`` on CPU. Empty input gives an empty result.
    """
    boxes, scores, iou_threshold = _prepare(boxes, scores, iou_threshold)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices  # [N]
    return order[_keep_sorted(boxes[order], iou_threshold)]


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Per-category NMS: boxes with different ``idxs`` (``Tensor[N]`` of integers) never suppress each other.

    Returns ``int64 Tensor[K]`` of kept indices by decreasing score, torchvision's result. Like
    torchvision we choose the method by size: up to 4000 coordinates (100 000 on GPU) the boxes of class
    ``c`` are shifted by ``c * (max coordinate + 1)`` and one NMS runs (the shift changes rounding, and
    torchvision's results with it, so we shift the same way; boxes with an infinite coordinate, for which the
    shift is undefined, take the exact per-class path); above that, NMS runs per class exactly and
    the kept indices (in index order) are sorted by score with the same ``torch.sort`` call torchvision
    makes, which reproduces its order among equal scores.
    """
    boxes, scores, iou_threshold = _prepare(boxes, scores, iou_threshold)
    idxs = check_tensor(idxs, "idxs")
    if idxs.is_floating_point():
        raise TypeError(f"idxs must be an integer tensor of category indices, got dtype {idxs.dtype}")
    if idxs.shape != (boxes.shape[0],):
        raise ValueError(f"idxs must have shape [{boxes.shape[0]}] (one per box), got shape {tuple(idxs.shape)}")
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    small = boxes.numel() <= (4000 if boxes.device.type == "cpu" else 100_000)
    if small and bool(torch.isfinite(boxes).all()):  # (an infinite coordinate would make the shift NaN)
        offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))  # [N]
        return nms(boxes + offsets[:, None], scores, iou_threshold)
    # score order with labels: one pass does every class's NMS (classes never interact)
    order = torch.sort(scores, descending=True, stable=True).indices  # [N]
    keep_mask = torch.zeros(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    keep_mask[order[_keep_sorted(boxes[order], iou_threshold, labels=idxs[order])]] = True
    keep = torch.nonzero(keep_mask).flatten()  # index order
    # torchvision orders the result with torch.sort(descending=True) on exactly this array; the same call
    # reproduces its order of equal scores
    return keep[torch.sort(scores[keep], descending=True).indices]
