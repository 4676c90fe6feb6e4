"""Greedy NMS by pushing each block's kept boxes onto all later boxes (used by :mod:`dlprimer.boxes.nms.vectorized`).

Boxes arrive sorted by decreasing score (position = rank). The live boxes are processed front to back in
blocks of 64, 128, ... 512:

1. the block is resolved internally from its strictly-upper-triangular suppression matrix ``S`` (see
   :func:`resolve_rounds`);
2. its kept boxes are tested against **every** later live box at once (one ``[K, R]`` overlap) and the
   boxes they suppress are dropped from the live list.

A suppressed box never suppresses anything, so what is left after a block is exactly the input of
greedy NMS on the remaining boxes: the result equals the sequential greedy loop. When most boxes are
suppressed (detector outputs: a few objects, many proposals around each) the live list collapses
after one or two blocks, so the whole run is a few dozen tensor operations. When a block removes
little (spread-out boxes, most kept) the caller finishes the remaining boxes with its other algorithms,
which are cheaper there; :func:`push_keep` then returns the positions still to be decided.

With ``labels`` a box only suppresses boxes of its own label (``batched_nms``): the boxes then stay in
plain score order, so every block serves all labels at once.
"""

from __future__ import annotations

import torch
from torch import Tensor

_FIRST_BLOCK = 64
_MAX_BLOCK = 512
_PUSH_ELEMENTS = 1 << 22  # bound on the [K, R] overlap temporaries per step
_PROBE = 2048  # at most this many live boxes (and 4 blocks) are tested first, to see if the block suppresses enough


def overlap(ci: Tensor, cj: Tensor) -> Tensor:
    """torchvision's NMS overlap ``[K, B]`` between columns ``(x1, y1, x2, y2, area)``: ``[5, K]``, ``[5, B]``.

    Same expression and order as the CPU kernel: ``inter / (area_i + area_j - inter)`` in the box dtype.
    """
    ci3, cj3 = ci[:, :, None], cj[:, None, :]  # [5, K, 1], [5, 1, B]
    wh = torch.min(ci3[2:4], cj3[2:4]).sub_(torch.max(ci3[:2], cj3[:2])).clamp_(min=0)  # [2, K, B] (w, h)
    inter = wh[0] * wh[1]  # [K, B]
    return inter.div_((ci3[4] + cj3[4]).sub_(inter))


def any_dim(x: Tensor, dim: int) -> Tensor:
    """``x.any(dim)`` for a bool tensor, as a ``uint8`` max (several times faster on CPU than ``any``)."""
    if x.shape[dim] == 0:
        return x.any(dim)
    return x.view(torch.uint8).amax(dim).view(torch.bool)


def resolve_rounds(sup: Tensor) -> Tensor:
    """Greedy keep mask ``[B]`` from ``sup: [B, B]`` (``sup[i, j]``, ``i < j``: a kept ``i`` removes ``j``).

    Rounds of two rules, each exact: a box with a kept predecessor is suppressed; a box all of whose
    predecessors are suppressed is kept. Every round decides at least the earliest undecided box, and
    in practice a handful of rounds decide a block (the number grows with the longest alternating
    kept/suppressed chain).
    """
    has_pred = any_dim(sup, 0)  # [B]
    kept = ~has_pred
    if not bool(has_pred.any()):
        return kept
    while True:
        supp = any_dim(sup & kept[:, None], 0)  # [B] some predecessor kept
        new = ~any_dim(sup & ~supp[:, None], 0)  # [B] every predecessor suppressed
        if bool((new | supp).all()):
            return new
        if torch.equal(new, kept):  # cannot happen (each round decides a box); keep the loop finite
            raise RuntimeError("NMS block resolution made no progress")
        kept = new


def push_keep(
    table: Tensor, t: Tensor, labels: Tensor | None = None, min_drop: float = 0.5
) -> tuple[Tensor, Tensor, float]:
    """Push-style greedy NMS on ``table: [5, N]`` columns sorted by decreasing score.

    Returns ``(keep [N] bool, rest [R] int64, drop)``: the decided kept boxes, the positions (ascending)
    of the live boxes still undecided, non-empty only when a block dropped fewer than ``min_drop`` of the
    live boxes after it (then the caller runs greedy NMS on ``rest`` and adds its result), and that
    fraction (0 when all is decided), a hint of how crowded the boxes are.
    """
    n, dev = table.shape[1], table.device
    keep = torch.zeros(n, dtype=torch.bool, device=dev)
    pos = torch.arange(n, device=dev)  # live positions, ascending
    size = _FIRST_BLOCK
    first = True
    while pos.numel():
        blk, rest = pos[:size], pos[size:]
        cb = table[:, :size] if first else table.index_select(1, blk)  # [5, B]
        first = False
        sup = torch.triu(overlap(cb, cb) > t, diagonal=1)  # [B, B]
        lb = labels[blk] if labels is not None else None
        if lb is not None:
            sup &= lb[:, None] == lb[None, :]
        bk = resolve_rounds(sup)  # [B]
        keep[blk[bk]] = True
        if rest.numel() == 0:
            break
        kb = cb[:, bk]  # [5, K] kept boxes of the block
        lk = lb[bk] if lb is not None else None
        step = max(1, _PUSH_ELEMENTS // max(1, kb.shape[1]))
        alive_parts = []
        r0 = 0
        while r0 < rest.numel():  # bounded [K, R] temporaries; the first piece is a probe
            r1 = r0 + (min(step, _PROBE, 4 * size) if r0 == 0 else step)
            rr = rest[r0:r1]
            hit = overlap(kb, table.index_select(1, rr)) > t  # [K, r]
            if lk is not None:
                hit &= lk[:, None] == labels[rr][None, :]
            alive_parts.append(~any_dim(hit, 0))
            if r0 == 0 and r1 < rest.numel():
                live = int(alive_parts[0].sum())
                if live > (1.0 - min_drop) * rr.numel():
                    # the block suppresses little: hand the rest over, with the block's kept boxes, which
                    # have not been tested against rest[r1:] (the probe's removed boxes are truly removed)
                    handed = torch.cat([blk[bk], rr[alive_parts[0]], rest[r1:]])  # ascending
                    return keep, handed, 1.0 - live / rr.numel()
            r0 = r1
        alive = alive_parts[0] if len(alive_parts) == 1 else torch.cat(alive_parts)
        pos = rest[alive]
        if pos.numel() > (1.0 - min_drop) * rest.numel() and pos.numel() > size:
            return keep, pos, 1.0 - pos.numel() / rest.numel()
        size = min(2 * size, _MAX_BLOCK)
    return keep, pos[:0], 0.0
