"""Sparse greedy NMS: find the suppression edges with a uniform grid, then resolve them in rounds.

Used by :mod:`dlprimer.boxes.nms.vectorized`. Boxes arrive sorted by decreasing score (position = rank).

1. **Candidates.** Every box is entered in each cell of a uniform grid that it covers (cell side about
   the median box side). Two boxes can only have IoU > 0 if they overlap, and then the top-left corner
   of their intersection lies in a cell both cover; a pair is tested only in that one cell, so each
   overlapping pair is tested exactly once and no pair of distant boxes is tested at all. With labels
   (per-class NMS) the label is part of the cell key, so boxes of different classes are never paired.
2. **Edges.** For the candidate pairs the kernel's overlap is computed exactly (same expression and
   dtype as torchvision) and ``ovr > threshold`` keeps a directed edge ``higher score -> lower score``.
3. **Rounds.** A box all of whose predecessors are suppressed is kept; a box with a kept predecessor is
   suppressed. Each round decides at least the earliest undecided box, so this ends with exactly the
   greedy result; the number of rounds is about twice the longest chain of kept boxes in a cluster.

If the grid would produce too many candidate pairs (boxes piled in one place) the caller falls back to
the dense blocked algorithm.
"""

from __future__ import annotations

import torch
from torch import Tensor

MAX_PAIRS_PER_BOX = 32  # above this many candidate pairs per box the dense algorithm is cheaper


def _pair_overlap(cols: tuple[Tensor, ...], a: Tensor, b: Tensor) -> Tensor:
    x1, y1, x2, y2, area = cols
    w = (torch.min(x2[a], x2[b]) - torch.max(x1[a], x1[b])).clamp_(min=0)
    h = (torch.min(y2[a], y2[b]) - torch.max(y1[a], y1[b])).clamp_(min=0)
    inter = w.mul_(h)
    return inter / (area[a] + area[b]).sub_(inter)


def suppression_edges(cols: tuple[Tensor, ...], t: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor] | None:
    """Edges ``(src, dst)`` with ``src < dst`` and overlap ``> t``; ``None`` if the grid is too crowded."""
    x1, y1, x2, y2, _ = cols
    n = x1.shape[0]
    dev = x1.device
    side = torch.maximum(x2 - x1, y2 - y1)  # [N]
    cell = float(side.median()) if n else 1.0
    span = float(torch.maximum(x2.max() - x1.min(), y2.max() - y1.min()))
    cell = max(cell, span / 4096, 1e-6 * max(span, 1.0), torch.finfo(x1.dtype).tiny)
    ox, oy = x1.min(), y1.min()
    cx0 = torch.floor((x1 - ox) / cell).long()  # [N]
    cy0 = torch.floor((y1 - oy) / cell).long()
    cx1 = torch.floor((x2 - ox) / cell).long()
    cy1 = torch.floor((y2 - oy) / cell).long()
    ncx, ncy = cx1 - cx0 + 1, cy1 - cy0 + 1  # cells covered per axis
    per_box = ncx * ncy  # [N]
    entries = int(per_box.sum())
    if entries > 16 * n + 4096:
        return None
    grid_w = int(cx1.max()) + 1
    grid_h = int(cy1.max()) + 1
    box = torch.repeat_interleave(torch.arange(n, device=dev), per_box)  # [E0]
    start = torch.cumsum(per_box, 0) - per_box
    local = torch.arange(entries, device=dev) - start[box]
    ex = cx0[box] + local % ncx[box]
    ey = cy0[box] + local // ncx[box]
    key = ey * grid_w + ex  # [E0]
    if labels is not None:
        key = key + torch.unique(labels, return_inverse=True)[1][box] * (grid_w * grid_h)
    # sort by (cell key, box rank): within a cell, earlier entries have higher scores
    order = torch.sort(key, stable=True).indices  # entries were made in box order: stable keeps it
    key, box, ex, ey = key[order], box[order], ex[order], ey[order]
    _, size = torch.unique_consecutive(key, return_counts=True)  # [C]
    gstart = torch.cumsum(size, 0) - size
    group = torch.repeat_interleave(torch.arange(size.shape[0], device=dev), size)  # [E0]
    pos = torch.arange(entries, device=dev) - gstart[group]  # position inside the cell
    partners = size[group] - 1 - pos  # later entries of the same cell
    total = int(partners.sum())
    if total > MAX_PAIRS_PER_BOX * n + 65536:
        return None
    first = torch.repeat_interleave(torch.arange(entries, device=dev), partners)  # [P]
    second = first + 1 + (torch.arange(total, device=dev) - (torch.cumsum(partners, 0) - partners)[first])
    a, b = box[first], box[second]  # a < b: a has the higher score
    # count a pair only in the cell holding the top-left corner of the two boxes' intersection
    rx = torch.floor((torch.max(x1[a], x1[b]) - ox) / cell).long()
    ry = torch.floor((torch.max(y1[a], y1[b]) - oy) / cell).long()
    here = (rx == ex[first]) & (ry == ey[first])
    a, b = a[here], b[here]
    hit = _pair_overlap(cols, a, b) > t
    return a[hit], b[hit]


def resolve_edges(n: int, src: Tensor, dst: Tensor) -> Tensor:
    """Greedy keep mask ``[n]`` from suppression edges ``src -> dst`` (``src`` ranked before ``dst``)."""
    dev = src.device
    undecided, kept = 0, 1
    state = torch.zeros(n, dtype=torch.int8, device=dev)
    live_in = torch.bincount(dst, minlength=n)  # incoming edges from boxes not (yet) suppressed
    new_kept = live_in == 0
    state[new_kept] = kept
    while True:
        # boxes hit by a newly kept box are suppressed
        from_kept = new_kept[src]
        hit = torch.zeros(n, dtype=torch.bool, device=dev)
        hit[dst[from_kept]] = True
        new_supp = hit & (state == undecided)
        state[new_supp] = 2
        live_in = live_in - torch.bincount(dst[new_supp[src]], minlength=n)
        new_kept = (state == undecided) & (live_in == 0)
        state[new_kept] = kept
        if not bool(new_kept.any()) and not bool(new_supp.any()):
            break
        pending = state[dst] == undecided  # drop edges into decided boxes
        src, dst = src[pending], dst[pending]
        if src.numel() == 0:
            state[state == undecided] = kept
            break
    return state == kept
