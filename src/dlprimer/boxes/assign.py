"""YOLOv5 positive-sample assignment (ultralytics/yolov5 ``utils/loss.py`` ``build_targets``; notes:
"yolov5中正负样本的判断").

For every output layer ``l`` (stride ``s``, grid ``gh × gw = H/s × W/s``, anchors ``anchors[l] / s`` in
grid units) and every ground truth ``(image, class, cx, cy, w, h)`` (normalized to ``[0, 1]``):

1. **Scale to the grid.** ``gx = cx·gw``, ``gy = cy·gh``, ``gw_box = w·gw``, ``gh_box = h·gh``.
2. **Shape filter (no IoU).** For each of the layer's ``A`` anchors ``(aw, ah)`` take the ratios
   ``r = (gw_box / aw, gh_box / ah)``; the pair matches if ``max(r, 1/r) < anchor_t`` in both axes (the
   notes: ratio below 4). A box too elongated for every anchor is background on that layer.
3. **Cells.** The own cell ``(floor(gx), floor(gy))`` always; the left neighbour if ``gx mod 1 < g`` and
   ``gx > 1``, the right one if ``(gw - gx) mod 1 < g`` and ``gw - gx > 1`` — i.e. the neighbour on the
   side of the nearer cell edge, if that cell exists — and the same for up/down. With ``g = 0.5`` that is
   the own cell plus the two nearest neighbour cells: up to 3 cells × 3 anchors = **9 positives** per
   ground truth and layer.
4. **Targets.** Cell indices are clamped to the grid; ``txy = (gx, gy) - cell`` lies in ``[-0.5, 1.5]``
   (YOLOv5 predicts ``2σ(t) - 0.5``), ``twh`` is the box size in grid units and ``anchor_wh`` the matched
   anchor in grid units (YOLOv5's ``tbox`` and ``anch``).

Corrections to the notes: the minimum is not 3 positives per matched anchor but 1 — a centre exactly at
a cell centre (``gx mod 1 = 0.5``) or next to the image border has no neighbour cell. And one deliberate
difference from YOLOv5's code: at an exact integer coordinate (``gx mod 1 = 0``) YOLOv5's rule also
selects the "right" neighbour, which rounds back onto the own cell, so the own cell is listed twice; we
drop that duplicate (``keep_duplicates=True`` restores YOLOv5's exact output).

Entries are ordered as YOLOv5 orders them: by offset (own, left, up, right, down), then anchor, then
ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.boxes.checks import check_number, check_tensor

__all__ = ["yolov5_build_targets"]

#: YOLOv5's cell offsets (times g): own, left, up, right, down
_OFFSETS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))


def _check_targets(targets: object) -> Tensor:
    targets = check_tensor(targets, "targets")
    if targets.ndim != 2 or targets.shape[1] != 6:
        raise ValueError(
            f"targets must have shape [M, 6] (image, class, cx, cy, w, h), got shape {tuple(targets.shape)}"
        )
    if not targets.is_floating_point():
        targets = targets.float()
    if targets.numel():
        if bool(torch.isnan(targets).any()):
            raise ValueError("targets contains NaN")
        ic = targets[:, :2]
        if bool(((ic != torch.round(ic)) | (ic < 0)).any()):
            raise ValueError("targets[:, 0] (image index) and targets[:, 1] (class) must be non-negative integers")
        if bool(((targets[:, 2:4] < 0) | (targets[:, 2:4] > 1)).any()):
            raise ValueError("targets[:, 2:4] (cx, cy) must be normalized to [0, 1]")
        if bool((targets[:, 4:6] < 0).any()):
            raise ValueError("targets[:, 4:6] (w, h) must be non-negative (normalized sizes)")
    return targets


def yolov5_build_targets(
    targets: Tensor,
    anchors: Tensor,
    strides: Sequence[int],
    image_size: int | Sequence[int],
    anchor_t: float = 4.0,
    g: float = 0.5,
    keep_duplicates: bool = False,
) -> list[dict[str, Tensor]]:
    """Assign YOLOv5 positives (see the module docstring for the rule, step by step).

    Args:
        targets: ``Tensor[M, 6]`` rows ``(image, class, cx, cy, w, h)``, box normalized to ``[0, 1]``.
        anchors: ``Tensor[L, A, 2]`` anchor ``(w, h)`` in pixels, one row of anchors per layer.
        strides: ``L`` positive integer strides; each must divide the image height and width.
        image_size: ``int`` or ``(H, W)`` of the network input, in pixels.
        anchor_t: width/height ratio threshold (``> 1``); ``g``: neighbour-cell bias in ``[0, 1]``.

    Returns:
        One dict per layer of equal-length tensors (``P`` positives): ``image``, ``anchor``, ``gy``,
        ``gx``, ``cls``, ``target`` (row of ``targets``) as int64; ``txy`` ``[P, 2]`` (offset of the centre
        from the cell's corner, in ``[-0.5, 1.5]``), ``twh`` ``[P, 2]`` and ``anchor_wh`` ``[P, 2]`` in grid
        units, in the targets' floating dtype (half: float32).
    """
    targets = _check_targets(targets)
    if isinstance(anchors, (list, tuple)):
        anchors = torch.as_tensor(anchors, dtype=torch.float64)
    anchors = check_tensor(anchors, "anchors")
    if anchors.ndim != 3 or anchors.shape[2] != 2:
        raise ValueError(f"anchors must have shape [L, A, 2] (w, h in pixels), got shape {tuple(anchors.shape)}")
    if anchors.numel() and not bool((anchors > 0).all()):
        raise ValueError("anchors must hold positive widths and heights")
    if isinstance(strides, Tensor):
        strides = strides.tolist()
    if isinstance(strides, (list, tuple)):  # accept integral floats such as 8.0
        strides = [int(s) if isinstance(s, float) and s.is_integer() else s for s in strides]
    if not isinstance(strides, (list, tuple)) or len(strides) != anchors.shape[0]:
        raise ValueError(f"strides must list one stride per anchor layer ({anchors.shape[0]}), got {strides!r}")
    size = (image_size, image_size) if is_int_like(image_size) else image_size
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(is_int_like(v) and v > 0 for v in size)
    ):
        raise ValueError(f"image_size must be a positive int or (height, width), got {image_size!r}")
    img_h, img_w = int(size[0]), int(size[1])
    for s in strides:
        if not is_int_like(s) or s <= 0 or img_h % s or img_w % s:
            raise ValueError(f"strides must be positive ints dividing image_size {(img_h, img_w)}, got {s!r}")
    anchor_t = check_number(anchor_t, "anchor_t", low=1.0, low_open=True)
    g = check_number(g, "g", low=0.0, high=1.0)

    dtype = targets.dtype if targets.dtype in (torch.float32, torch.float64) else torch.float32
    t = targets.to(dtype)
    dev = t.device
    offsets = torch.tensor(_OFFSETS, dtype=dtype, device=dev) * g  # [5, 2]
    out = []
    for layer, stride in enumerate(strides):
        gh, gw = img_h // stride, img_w // stride
        grid = torch.tensor([gw, gh], dtype=dtype, device=dev)  # [2] (x, y)
        anc = anchors[layer].to(device=dev, dtype=dtype) / stride  # [A, 2] grid units
        gxy = t[:, 2:4] * grid  # [M, 2]
        gwh = t[:, 4:6] * grid  # [M, 2]
        # 2. shape filter: [A, M]
        r = gwh[None, :, :] / anc[:, None, :]  # [A, M, 2]
        match = torch.max(r, 1 / r).amax(2) < anchor_t  # [A, M]
        a_idx, m_idx = torch.nonzero(match, as_tuple=True)  # anchor-major, then target
        pxy = gxy[m_idx]  # [P0, 2]
        inv = grid - pxy  # [P0, 2]
        # 3. neighbour cells: own, left, up, right, down
        near_low = (pxy % 1 < g) & (pxy > 1)  # [P0, 2]
        near_high = (inv % 1 < g) & (inv > 1)
        use = torch.stack(
            [torch.ones_like(near_low[:, 0]), near_low[:, 0], near_low[:, 1], near_high[:, 0], near_high[:, 1]]
        )  # [5, P0]
        o_idx, p_idx = torch.nonzero(use, as_tuple=True)  # offset-major
        exy = pxy[p_idx]  # [P, 2]
        cell = (exy - offsets[o_idx]).long()  # [P, 2] (x, y); all arguments are >= 0 so this is floor
        cell[:, 0].clamp_(0, gw - 1)
        cell[:, 1].clamp_(0, gh - 1)
        if not keep_duplicates:
            own = exy.long()
            own[:, 0].clamp_(0, gw - 1)
            own[:, 1].clamp_(0, gh - 1)
            keep = (o_idx == 0) | (cell != own).any(1)
            o_idx, p_idx, exy, cell = o_idx[keep], p_idx[keep], exy[keep], cell[keep]
        tgt = m_idx[p_idx]
        out.append(
            {
                "image": t[tgt, 0].long(),
                "anchor": a_idx[p_idx],
                "gy": cell[:, 1],
                "gx": cell[:, 0],
                "txy": exy - cell.to(dtype),
                "twh": gwh[tgt],
                "anchor_wh": anc[a_idx[p_idx]],
                "cls": t[tgt, 1].long(),
                "target": tgt,
            }
        )
    return out
