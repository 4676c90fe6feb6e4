"""ROI Pooling (Girshick, Fast R-CNN 2015; notes: "ROI Pooling与ROI Align介绍"), torchvision's semantics.

The two quantizations of the notes:

1. image -> feature map: each ROI corner is scaled by ``spatial_scale`` and **rounded** to an integer
   cell (``std::round``: halves away from zero); the ROI spans ``x1..x2`` inclusive, at least 1×1.
2. feature map -> bins: bin ``ph`` covers rows ``floor(ph·bin_h) .. ceil((ph + 1)·bin_h)`` (exclusive
   end) with ``bin_h = roi_h / out_h``, offset by the ROI start and clipped to the map.

Each bin outputs the maximum of its window (0 for an empty window; the gradient goes to the first
maximum in row-major order, as torchvision's strict ``>`` scan does; values not above ``-FLT_MAX``
are never selected, like the kernel's initial value). All arithmetic is in the input dtype as in the
kernel (half/bfloat16: float32).

Implementation: a 2-D sparse table (range-maximum query). Level ``(a, b)`` holds, for every cell, the
maximum and its first position over the ``2^a × 2^b`` block starting there; any window is covered by
four (overlapping) blocks of the largest level that fits, so every bin of every ROI costs four gathers
over the channels instead of a scan. The output is a gather of the input at the selected positions, so
autograd gives torchvision's backward (the gradient added at each argmax).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dlprimer.boxes._roi_common import check_input, check_scale, output_hw, to_rois
from dlprimer.boxes.checks import check_number

__all__ = ["RoIPool", "roi_pool"]

_FLT_MAX = 3.4028234663852886e38
_TABLE_ELEMENTS = 1 << 23  # bound on sparse-table entries per channel chunk
_QUERY_ELEMENTS = 1 << 22  # bound on gathered entries per ROI chunk


def _round_half_away(x: Tensor) -> Tensor:
    """``std::round``: nearest integer, halves away from zero (``torch.round`` rounds halves to even)."""
    t = torch.trunc(x)
    return torch.where((x - t).abs() >= 0.5, t + torch.sign(x), t)


def _better(va: Tensor, ia: Tensor, vb: Tensor, ib: Tensor) -> tuple[Tensor, Tensor]:
    """Pick ``b`` where it is larger, or equal with a smaller (earlier) position."""
    take = (vb > va) | ((vb == va) & (ib < ia))
    return torch.where(take, vb, va), torch.where(take, ib, ia)


def _shift(t: Tensor, step: int, dim: int, fill: float | int) -> Tensor:
    """``t`` moved by ``step`` towards lower indices along ``dim``; the tail is ``fill``."""
    if step >= t.shape[dim]:
        return torch.full_like(t, fill)
    pad = torch.full_like(t.narrow(dim, 0, step), fill)
    return torch.cat([t.narrow(dim, step, t.shape[dim] - step), pad], dim)


def _sparse_table(x: Tensor, levels_h: int, levels_w: int) -> tuple[Tensor, Tensor]:
    """``x: [N, H, W, C]`` -> values and first positions ``[Lh, Lw, N, H, W, C]`` of block maxima."""
    n, h, w, c = x.shape
    pos = torch.arange(h * w, device=x.device, dtype=torch.int32).view(1, h, w, 1).expand(n, h, w, c)
    big = torch.iinfo(torch.int32).max
    rows_v, rows_i = [], []
    v, i = x, pos
    for a in range(levels_h):
        if a:
            v, i = _better(v, i, _shift(v, 1 << (a - 1), 1, -math.inf), _shift(i, 1 << (a - 1), 1, big))
        cols_v, cols_i = [v], [i]
        vb, ib = v, i
        for b in range(1, levels_w):
            vb, ib = _better(vb, ib, _shift(vb, 1 << (b - 1), 2, -math.inf), _shift(ib, 1 << (b - 1), 2, big))
            cols_v.append(vb)
            cols_i.append(ib)
        rows_v.append(torch.stack(cols_v))
        rows_i.append(torch.stack(cols_i))
    return torch.stack(rows_v), torch.stack(rows_i)


def roi_pool(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> Tensor:
    """ROI max pooling: ``input: Tensor[N, C, H, W]`` -> ``Tensor[K, C, out_h, out_w]``.

    ``boxes``: ``Tensor[K, 5]`` ``(batch index, x1, y1, x2, y2)`` or a list of ``Tensor[L, 4]``.
    Equals ``torchvision.ops.roi_pool`` (values and gradients w.r.t. ``input``).
    """
    input = check_input(input)
    out_h, out_w = output_hw(output_size)
    spatial_scale = check_scale(spatial_scale)
    dtype = input.dtype if input.dtype in (torch.float32, torch.float64) else torch.float32
    batch, xyxy = to_rois(boxes, input, dtype)
    n, c, h, w = input.shape
    k = xyxy.shape[0]
    if k == 0 or c == 0 or h == 0 or w == 0:
        return input.new_zeros((k, c, out_h, out_w))
    x = input.to(dtype)
    dev = x.device
    # quantization 1: ROI corners to integer cells
    q = _round_half_away(xyxy * torch.tensor(spatial_scale, dtype=dtype, device=dev)).long()  # [K, 4]
    roi_w = (q[:, 2] - q[:, 0] + 1).clamp(min=1)
    roi_h = (q[:, 3] - q[:, 1] + 1).clamp(min=1)
    bin_h = roi_h.to(dtype) / out_h  # [K]
    bin_w = roi_w.to(dtype) / out_w
    # quantization 2: bins to integer windows, clipped to the map
    ph = torch.arange(out_h, device=dev, dtype=dtype)
    pw = torch.arange(out_w, device=dev, dtype=dtype)
    hs = (torch.floor(ph[None] * bin_h[:, None]).long() + q[:, 1:2]).clamp(0, h)  # [K, out_h]
    he = (torch.ceil((ph[None] + 1) * bin_h[:, None]).long() + q[:, 1:2]).clamp(0, h)
    ws = (torch.floor(pw[None] * bin_w[:, None]).long() + q[:, 0:1]).clamp(0, w)  # [K, out_w]
    we = (torch.ceil((pw[None] + 1) * bin_w[:, None]).long() + q[:, 0:1]).clamp(0, w)
    len_h, len_w = (he - hs).clamp(min=1), (we - ws).clamp(min=1)
    lvl_h = torch.floor(torch.log2(len_h.double())).long()  # [K, out_h]  (exact for ints < 2**52)
    lvl_w = torch.floor(torch.log2(len_w.double())).long()
    levels_h, levels_w = int(lvl_h.max()) + 1, int(lvl_w.max()) + 1
    # the four blocks covering each window: rows (top, bottom) x cols (left, right)
    # (clamped into the map: an empty window, e.g. of a ROI beyond the map, reads a valid cell; its value
    # is replaced by 0 below)
    rows = torch.stack([hs, he - (1 << lvl_h)], -1).clamp(0, h - 1)  # [K, out_h, 2]
    cols = torch.stack([ws, we - (1 << lvl_w)], -1).clamp(0, w - 1)  # [K, out_w, 2]
    empty = (he <= hs)[:, :, None] | (we <= ws)[:, None, :]  # [K, out_h, out_w]

    xt = x.permute(0, 2, 3, 1)  # [N, H, W, C]
    c_chunk = max(1, min(c, _TABLE_ELEMENTS // max(1, levels_h * levels_w * n * h * w)))
    per_roi = out_h * out_w * 4 * c_chunk
    r_chunk = max(1, _QUERY_ELEMENTS // per_roi)
    positions = []
    with torch.no_grad():
        for c0 in range(0, c, c_chunk):
            cc = min(c_chunk, c - c0)
            tv, ti = _sparse_table(xt[..., c0 : c0 + cc], levels_h, levels_w)
            tv, ti = tv.reshape(-1, cc), ti.reshape(-1, cc)  # [Lh*Lw*N*H*W, cc]
            parts = []
            for r0 in range(0, k, r_chunk):
                sl = slice(r0, min(r0 + r_chunk, k))
                lv = lvl_h[sl][:, :, None] * levels_w + lvl_w[sl][:, None, :]  # [k, out_h, out_w]
                base = (lv * n + batch[sl][:, None, None]) * (h * w)  # [k, out_h, out_w]
                flat = (
                    base[..., None, None] + rows[sl][:, :, None, :, None] * w + cols[sl][:, None, :, None, :]
                )  # [k, out_h, out_w, 2, 2]
                flat = flat.reshape(flat.shape[0], out_h, out_w, 4)
                v, i = tv[flat], ti[flat]  # [k, out_h, out_w, 4, cc]
                bv, bi = v[..., 0, :], i[..., 0, :]
                for j in range(1, 4):
                    bv, bi = _better(bv, bi, v[..., j, :], i[..., j, :])
                bi = torch.where((bv > -_FLT_MAX) & ~empty[sl][..., None], bi.long(), -1)
                parts.append(bi)
            positions.append(torch.cat(parts))  # [K, out_h, out_w, cc]
        pos = torch.cat(positions, -1).permute(0, 3, 1, 2)  # [K, C, out_h, out_w]
        hit = pos >= 0
        chan = torch.arange(c, device=dev)[None, :, None, None]
        flat_idx = (batch[:, None, None, None] * c + chan) * (h * w) + pos.clamp(min=0)  # [K, C, oh, ow]
    gathered = x.reshape(-1)[flat_idx]  # autograd: gradient added at each argmax
    fill = torch.where(empty[:, None], 0.0, -_FLT_MAX).to(dtype)  # [K, 1, out_h, out_w]
    out = torch.where(hit, gathered, fill)
    return out.to(input.dtype)


class RoIPool(nn.Module):
    """Module form of :func:`roi_pool`, like ``torchvision.ops.RoIPool``."""

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_hw(output_size)
        self.spatial_scale = check_number(spatial_scale, "spatial_scale", low=0.0, low_open=True)

    def forward(self, input: Tensor, rois: Tensor | list[Tensor]) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"
