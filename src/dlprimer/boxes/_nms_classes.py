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
