"""Per-class greedy NMS of all classes at once (used by ``batched_nms`` when the boxes are crowded).

The classes are padded into a ``[C, W]`` batch (``W`` the largest class) and processed in stages of
within-class ranks ``[0, 64)``, ``[64, 192)``, ``[192, 448)``, ...: a stage is first filtered by the boxes
its class kept in earlier stages (``[C, K, B]`` overlaps), the survivors are packed to the front, and their
``[C, A, A]`` suppression matrices are resolved together (a few fixed-point rounds, then the kept boxes of
every class in lockstep). The number of torch operations depends on the number of stages, not classes.
The overlap is the NMS kernel's expression, so results equal per-class ``nms`` exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer.boxes.nms._push import any_dim

_FIXED_POINT_STEPS = 4


def _overlap(ci: Tensor, cj: Tensor) -> Tensor:
    """Kernel overlap between ``ci: [5, C, K]`` and ``cj: [5, C, B]`` columns -> ``[C, K, B]``."""
    x1i, y1i, x2i, y2i, ai = ci[..., :, None]  # [C, K, 1] each
    x1j, y1j, x2j, y2j, aj = cj[..., None, :]  # [C, 1, B] each
    w = torch.min(x2i, x2j).sub_(torch.max(x1i, x1j)).clamp_(min=0)
    h = torch.min(y2i, y2j).sub_(torch.max(y1i, y1j)).clamp_(min=0)
    inter = w.mul_(h)
    return inter / (ai + aj).sub_(inter)


def _pack(mask: Tensor) -> tuple[Tensor, Tensor]:
    """Per row, the positions of the True entries first: ``(index [C, A], valid [C, A])``, A = max count."""
    width = int(mask.sum(1).max()) if mask.numel() else 0
    order = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices[:, :width]  # [C, A]
    return order, torch.gather(mask, 1, order)


def _resolve(sup: Tensor, valid: Tensor) -> Tensor:
    """Greedy keep ``[C, A]`` from suppression matrices ``sup: [C, A, A]`` (row before column)."""
    keep = valid.clone()
    for _ in range(_FIXED_POINT_STEPS):
        new = valid & ~(sup & keep[:, :, None]).any(1)
        if torch.equal(new, keep):
            return keep
        keep = new
    keep = torch.zeros_like(valid)
    rest = valid.clone()
    rows = torch.arange(valid.shape[0], device=valid.device)
    while bool(rest.any()):
        i = torch.argmax(rest.to(torch.uint8), 1)  # [C] first undecided box of every class
        has = rest[rows, i]
        keep[rows, i] |= has
        rest &= ~(sup[rows, i] & has[:, None])
        rest[rows, i] = False
    return keep


def greedy_keep_classes(table: Tensor, counts: Tensor, t: Tensor) -> Tensor:
    """Keep mask ``[N]`` for ``table: [5, N]`` columns (x1, y1, x2, y2, area) sorted class-major and by
    decreasing score within a class; ``counts: [C]`` the class sizes; ``t`` the overlap threshold."""
    n, c, dev = table.shape[1], counts.shape[0], table.device
    width = int(counts.max())
    starts = torch.cumsum(counts, 0) - counts
    cls = torch.repeat_interleave(torch.arange(c, device=dev), counts)  # [N]
    slot = torch.arange(n, device=dev) - starts[cls]  # rank inside the class
    padded = table.new_zeros(5, c, width)
    padded[:, cls, slot] = table
    valid = torch.zeros(c, width, dtype=torch.bool, device=dev)
    valid[cls, slot] = True
    keep = torch.zeros(c, width, dtype=torch.bool, device=dev)
    kept = table.new_zeros(5, c, 0)  # [5, C, K] kept so far (padded)
    kept_ok = torch.zeros(c, 0, dtype=torch.bool, device=dev)
    s0, size = 0, 64
    while s0 < width:
        s1 = min(s0 + size, width)
        block, alive = padded[:, :, s0:s1], valid[:, s0:s1]  # [5, C, B], [C, B]
        if kept.shape[2]:
            hit = (_overlap(kept, block) > t) & kept_ok[:, :, None]  # [C, K, B]
            alive = alive & ~hit.any(1)
        idx, ok = _pack(alive)  # [C, A]
        sub = torch.gather(block, 2, idx[None].expand(5, -1, -1))  # [5, C, A]
        sup = torch.triu(_overlap(sub, sub) > t, diagonal=1) & ok[:, :, None]  # [C, A, A]
        bkeep = _resolve(sup, ok)  # [C, A]
        keep[:, s0:s1].scatter_(1, idx, bkeep)
        kidx, kok = _pack(bkeep)
        kept = torch.cat([kept, torch.gather(sub, 2, kidx[None].expand(5, -1, -1))], 2)
        kept_ok = torch.cat([kept_ok, kok], 1)
        s0, size = s1, min(2 * size, 512)
    return keep[cls, slot]


def _resolve_rounds(sup: Tensor, valid: Tensor) -> Tensor:
    """Batched :func:`dlprimer.boxes.nms._push.resolve_rounds`: ``sup: [C, B, B]``, ``valid: [C, B]``."""
    sup = sup & valid[:, :, None]  # padding suppresses nothing
    has_pred = any_dim(sup, 1)  # [C, B]
    kept = valid & ~has_pred
    if not bool(has_pred.any()):
        return kept
    while True:
        supp = any_dim(sup & kept[:, :, None], 1)  # [C, B] some predecessor kept
        new = valid & ~any_dim(sup & ~supp[:, :, None], 1)  # every predecessor suppressed
        if bool((new | supp | ~valid).all()):
            return new
        if torch.equal(new, kept):  # cannot happen (each round decides a box per class)
            raise RuntimeError("NMS block resolution made no progress")
        kept = new


def _segment_pairs(key_a: Tensor, key_b: Tensor, n_keys: int) -> tuple[Tensor, Tensor]:
    """All pairs ``(i, j)`` with ``key_a[i] == key_b[j]``; ``key_b`` non-decreasing. Ragged, no padding."""
    dev = key_a.device
    counts_b = torch.bincount(key_b, minlength=n_keys)  # [C]
    start_b = torch.cumsum(counts_b, 0) - counts_b
    per_a = counts_b[key_a]  # [A] partners of each i
    first = torch.repeat_interleave(torch.arange(key_a.shape[0], device=dev), per_a)  # [P]
    offset = torch.cumsum(per_a, 0) - per_a
    second = start_b[key_a][first] + torch.arange(first.shape[0], device=dev) - offset[first]  # [P]
    return first, second


def push_keep_classes(table: Tensor, counts: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """Per-class push (see :mod:`dlprimer.boxes.nms._push`) for ``table: [5, N]`` sorted class-major.

    Each step resolves the first 16 live boxes of every class together (``[C, 16, 16]``), then tests the
    kept ones against the later live boxes **of their own class** only (a ragged list of pairs, no
    padding), and drops the suppressed boxes. Returns ``(keep [N], rest [R])`` like ``push_keep``: ``rest``
    (ascending) is non-empty when a step dropped fewer than half of the later boxes; the caller finishes it.
    """
    n, c, dev = table.shape[1], counts.shape[0], table.device
    cls = torch.repeat_interleave(torch.arange(c, device=dev), counts)  # [N] class of each position
    keep = torch.zeros(n, dtype=torch.bool, device=dev)
    live = torch.arange(n, device=dev)  # live positions, ascending (class-major)
    size = 16  # measured: smaller blocks of many classes beat 64 on crowded detections
    while live.numel():
        lc = cls[live]  # [L]
        lcount = torch.bincount(lc, minlength=c)  # [C]
        rank = torch.arange(live.numel(), device=dev) - (torch.cumsum(lcount, 0) - lcount)[lc]  # [L]
        in_blk = rank < size
        blk = live[in_blk]
        width = min(size, int(lcount.max()))
        slots = torch.zeros(c, width, dtype=torch.long, device=dev)
        ok = torch.zeros(c, width, dtype=torch.bool, device=dev)
        slots[lc[in_blk], rank[in_blk]] = blk
        ok[lc[in_blk], rank[in_blk]] = True
        cb = table.index_select(1, slots.reshape(-1)).view(5, c, width)  # [5, C, B]
        sup = torch.triu(_overlap(cb, cb) > t, diagonal=1)  # [C, B, B]
        bk = _resolve_rounds(sup, ok)  # [C, B]
        kept = slots[bk]  # [K] class-major
        keep[kept] = True
        rest = live[~in_blk]
        if rest.numel() == 0:
            break
        a, b = _segment_pairs(cls[kept], cls[rest], c)  # kept x later boxes of the same class
        hit = _overlap_pairs(table, kept[a], rest[b]) > t
        dead = torch.zeros(rest.numel(), dtype=torch.bool, device=dev)
        dead[b[hit]] = True
        live = rest[~dead]
        if 2 * live.numel() > rest.numel():
            return keep, live
    return keep, live[:0]


def _overlap_pairs(table: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Kernel overlap of the pairs ``(a[p], b[p])`` of columns of ``table: [5, N]`` -> ``[P]``."""
    x1a, y1a, x2a, y2a, aa = table.index_select(1, a)
    x1b, y1b, x2b, y2b, ab = table.index_select(1, b)
    w = torch.min(x2a, x2b).sub_(torch.max(x1a, x1b)).clamp_(min=0)
    h = torch.min(y2a, y2b).sub_(torch.max(y1a, y1b)).clamp_(min=0)
    inter = w.mul_(h)
    return inter / (aa + ab).sub_(inter)
