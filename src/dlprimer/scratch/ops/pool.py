"""Pooling: max / average (overlapping windows, padding, ceil_mode), adaptive average / max, and SPP.

Notes (池化层, 反向传播): max pooling passes the gradient only to the arg-max of each window; average
pooling spreads it evenly (``g / divisor``) over the window. Overlapping pooling (kernel > stride, as in
AlexNet) just accumulates the contributions of every window a pixel falls in. Both forward and backward
loop over the ``k_h·k_w`` kernel offsets, each one vectorized strided operation over all pixels.

Output size (torch's ``pooling_output_shape``)::

    H_out = ⌊(H + 2p − d(k−1) − 1 + (s−1 if ceil_mode)) / s⌋ + 1,
    minus 1 when ceil_mode and the last window would start in the right padding ((H_out−1)·s ≥ H + p).

SPP (He et al., "Spatial Pyramid Pooling in Deep Convolutional Networks", 2014): max-pool the map into
``n × n`` bins for each pyramid level ``n`` and concatenate, so any ``H × W`` gives ``C · Σ n²`` features.
The paper's window ``⌈a/n⌉`` / stride ``⌊a/n⌋`` yields fewer than ``n`` bins for some sizes (e.g. a=7, n=4);
we use adaptive bins ``[⌊i·a/n⌋, ⌈(i+1)·a/n⌉)`` instead (torch's adaptive pooling), which always give ``n``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer._checks import is_int_like
from dlprimer.scratch.autograd import Context, Function, Tensor
from dlprimer.scratch.ops._checks import check_ndim, float_tensor, pair
from dlprimer.scratch.ops.basic import Concat


def _pool_out(size: int, k: int, p: int, s: int, d: int, ceil_mode: bool) -> int:
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_args(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple[Any, ...]:
    check_ndim(x, "input", (3, 4), "[N, C, H, W] or [C, H, W]")
    k = pair(kernel_size, "kernel_size", 1)
    s = k if stride is None or (not is_int_like(stride) and len(stride) == 0) else pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    d = pair(dilation, "dilation", 1)
    for a in (0, 1):
        if p[a] > k[a] // 2:
            raise ValueError(f"padding must be at most half the kernel size, got padding={p} for kernel_size={k}")
    h, w = x.shape[-2:]
    ho = _pool_out(h, k[0], p[0], s[0], d[0], ceil_mode)
    wo = _pool_out(w, k[1], p[1], s[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise ValueError(f"kernel_size {k} (dilation {d}) is larger than the padded input (input shape {x.shape},"
                         f" padding {p}): output would be {ho}×{wo}")
    return k, s, p, d, ho, wo


def _padded(x: NDArray[Any], p: tuple[int, int], k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
            ho: int, wo: int, fill: float) -> NDArray[Any]:
    """Pad ``[N, C, H, W]`` by ``p`` on the top/left and enough on the bottom/right for the last window."""
    n, c, h, w = x.shape
    hp = max(h + 2 * p[0], (ho - 1) * s[0] + d[0] * (k[0] - 1) + 1)
    wp = max(w + 2 * p[1], (wo - 1) * s[1] + d[1] * (k[1] - 1) + 1)
    xp = np.full((n, c, hp, wp), fill, dtype=x.dtype)
    xp[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
    return xp


def _offset_slices(i: int, j: int, s: tuple[int, int], d: tuple[int, int], ho: int,
                   wo: int) -> tuple[Any, ...]:
    y0, x0 = i * d[0], j * d[1]
    return (Ellipsis, slice(y0, y0 + s[0] * (ho - 1) + 1, s[0]), slice(x0, x0 + s[1] * (wo - 1) + 1, s[1]))


class MaxPool2dFunction(Function):
    """Max over each window; the gradient goes to the first arg-max (scan order), as torch's CPU kernel."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], *, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
                d: tuple[int, int], ho: int, wo: int) -> NDArray[Any]:
        xp = _padded(x, p, k, s, d, ho, wo, -np.inf)
        best = np.full((*x.shape[:2], ho, wo), -np.inf, dtype=x.dtype)  # [N, C, Ho, Wo]
        # kernel offset index i·k_w + j of the max; it starts (as torch's kernel) at the window's first
        # in-bounds offset, so a window of −∞ values sends its gradient to a real pixel, not to the padding
        i0 = np.maximum(-(-(p[0] - np.arange(ho) * s[0]) // d[0]), 0)  # [Ho] first row offset inside
        j0 = np.maximum(-(-(p[1] - np.arange(wo) * s[1]) // d[1]), 0)  # [Wo]
        arg = np.broadcast_to((i0[:, None] * k[1] + j0[None, :]).astype(np.int32), best.shape).copy()
        for i in range(k[0]):
            for j in range(k[1]):
                v = xp[_offset_slices(i, j, s, d, ho, wo)]
                better = (v > best) | np.isnan(v)
                np.copyto(best, v, where=better)
                arg[better] = i * k[1] + j
        ctx.arg, ctx.meta = arg, (x.shape, xp.shape, k, s, p, d, ho, wo)
        return best

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        shape, pshape, k, s, p, d, ho, wo = ctx.meta
        dxp = np.zeros(pshape, dtype=grad.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                dxp[_offset_slices(i, j, s, d, ho, wo)] += np.where(ctx.arg == i * k[1] + j, grad, 0)
        return dxp[:, :, p[0] : p[0] + shape[2], p[1] : p[1] + shape[3]]


def max_pool2d(input: Any, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, NDArray[np.int64]]:
    """2-D max pooling (``torch.nn.functional.max_pool2d``). ``input [N, C, H, W]`` or ``[C, H, W]``.

    ``stride`` defaults to ``kernel_size``; padding (implicit −∞, at most half the kernel) and ``ceil_mode``
    as in torch. With ``return_indices`` also returns the flat index ``y·W + x`` of each max in its
    (unpadded) input plane, int64 ``[N, C, H_out, W_out]``.
    """
    x = float_tensor(input, "input")
    k, s, p, d, ho, wo = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1, *x.shape))
    pooled = MaxPool2dFunction.apply(x, k=k, s=s, p=p, d=d, ho=ho, wo=wo)
    out = pooled.reshape(pooled.shape[1:]) if unbatched else pooled
    if not return_indices:
        return out
    if pooled._ctx is not None:
        arg = pooled._ctx.arg
    else:  # graph not recorded: recompute the arg-max positions
        scratch_ctx = Context()
        MaxPool2dFunction.forward(scratch_ctx, x.data, k=k, s=s, p=p, d=d, ho=ho, wo=wo)
        arg = scratch_ctx.arg
    oy = np.arange(ho)[:, None] * s[0] - p[0] + (arg // k[1]) * d[0]
    ox = np.arange(wo)[None, :] * s[1] - p[1] + (arg % k[1]) * d[1]
    idx = (oy * x.shape[3] + ox).astype(np.int64)
    return out, idx.reshape(out.shape)  # [N, C, Ho, Wo] flat indices into H·W


def _avg_divisor(size: int, k: int, s: int, p: int, n_out: int, count_include_pad: bool) -> NDArray[np.int64]:
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start
    clipped = np.minimum(end, size) - np.maximum(start, 0)
    return full if count_include_pad else clipped


class AvgPool2dFunction(Function):
    """Mean over each window (zero padding); backward spreads ``g / divisor`` over the window."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], *, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
                ho: int, wo: int, divisor: NDArray[Any]) -> NDArray[Any]:
        d = (1, 1)
        xp = _padded(x, p, k, s, d, ho, wo, 0.0)
        total = np.zeros((*x.shape[:2], ho, wo), dtype=x.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                total += xp[_offset_slices(i, j, s, d, ho, wo)]
        ctx.meta = (x.shape, xp.shape, k, s, p, ho, wo, divisor)
        return total / divisor

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        shape, pshape, k, s, p, ho, wo, divisor = ctx.meta
        g = grad / divisor
        dxp = np.zeros(pshape, dtype=grad.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                dxp[_offset_slices(i, j, s, (1, 1), ho, wo)] += g
        return dxp[:, :, p[0] : p[0] + shape[2], p[1] : p[1] + shape[3]]


def avg_pool2d(input: Any, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling (``torch.nn.functional.avg_pool2d``), ``input [N, C, H, W]`` or ``[C, H, W]``.

    The divisor of a window is (torch's rule) its size clipped to the padded extent ``[−p, H + p)``
    with ``count_include_pad``, else the number of real (unpadded) pixels in it; ``divisor_override``
    replaces it.
    """
    x = float_tensor(input, "input")
    k, s, p, _, ho, wo = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if not is_int_like(divisor_override) \
                or divisor_override < 1:
            raise ValueError(f"divisor_override must be a positive int or None, got {divisor_override!r}")
        divisor = np.asarray(float(divisor_override), dtype=x.dtype)
    else:
        dh = _avg_divisor(x.shape[-2], k[0], s[0], p[0], ho, count_include_pad)
        dw = _avg_divisor(x.shape[-1], k[1], s[1], p[1], wo, count_include_pad)
        divisor = (dh[:, None] * dw[None, :]).astype(x.dtype)  # [Ho, Wo]
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1, *x.shape))
    out = AvgPool2dFunction.apply(x, k=k, s=s, p=p, ho=ho, wo=wo, divisor=divisor)
    return out.reshape(out.shape[1:]) if unbatched else out


def _adaptive_bins(size: int, n_out: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Bin ``i`` covers ``[⌊i·size/n⌋, ⌈(i+1)·size/n⌉)`` (torch's ``start_index`` / ``end_index``)."""
    i = np.arange(n_out)
    return (i * size) // n_out, -((-(i + 1) * size) // n_out)


def _output_size(x: Tensor, output_size: Any) -> tuple[int, int]:
    items = (output_size, output_size) if is_int_like(output_size) or output_size is None \
        else tuple(output_size)
    if len(items) != 2:
        raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
    out = tuple(x.shape[-2 + a] if v is None else v for a, v in enumerate(items))
    if any(not is_int_like(v) or v < 1 for v in out):
        raise ValueError(f"output_size must hold positive ints (or None), got {output_size!r}")
    return int(out[0]), int(out[1])


class AdaptiveAvgPool2dFunction(Function):
    """Adaptive average pooling as two averaging matrices: ``out = A_h · x · A_wᵀ``.

    ``A_h[i, y] = 1/|bin_i|`` for ``y`` in bin ``i`` (0 elsewhere). Linear, so
    ``∂L/∂x = A_hᵀ · G · A_w``.
    """

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], *, out_hw: tuple[int, int]) -> NDArray[Any]:
        mats = []
        for size, n in zip(x.shape[-2:], out_hw, strict=True):
            lo, hi = _adaptive_bins(size, n)
            pos = np.arange(size)
            member = (pos[None, :] >= lo[:, None]) & (pos[None, :] < hi[:, None])  # [n, size]
            mats.append(member / (hi - lo)[:, None].astype(x.dtype))
        ah, aw = (m.astype(x.dtype) for m in mats)
        ctx.save_for_backward(ah, aw)
        return np.einsum("ph,nchw,qw->ncpq", ah, x, aw, optimize=True)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        ah, aw = ctx.saved
        return np.einsum("ph,ncpq,qw->nchw", ah, grad, aw, optimize=True)


def adaptive_avg_pool2d(input: Any, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Adaptive average pooling to ``output_size`` (``torch.nn.functional.adaptive_avg_pool2d``).

    ``input [N, C, H, W]`` or ``[C, H, W]``; bins as in :func:`_adaptive_bins` (identity when the output
    size equals the input size). ``None`` in ``output_size`` keeps that input size.
    """
    x = float_tensor(input, "input")
    check_ndim(x, "input", (3, 4), "[N, C, H, W] or [C, H, W]")
    out_hw = _output_size(x, output_size)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1, *x.shape))
    if out_hw == x.shape[-2:]:
        out = x.reshape(x.shape)  # identity bins: a (differentiable) no-op
    else:
        out = AdaptiveAvgPool2dFunction.apply(x, out_hw=out_hw)
    return out.reshape(out.shape[1:]) if unbatched else out


class AdaptiveMaxPool2dFunction(Function):
    """Adaptive max pooling; a Python loop over the (few) output bins, each vectorized over N and C."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], *, out_hw: tuple[int, int]) -> NDArray[Any]:
        n, c, h, w = x.shape
        hlo, hhi = _adaptive_bins(h, out_hw[0])
        wlo, whi = _adaptive_bins(w, out_hw[1])
        out = np.empty((n, c, *out_hw), dtype=x.dtype)
        flat_idx = np.empty((n, c, *out_hw), dtype=np.int64)
        for i in range(out_hw[0]):
            for j in range(out_hw[1]):
                region = x[:, :, hlo[i] : hhi[i], wlo[j] : whi[j]]
                rw = whi[j] - wlo[j]
                a = region.reshape(n, c, region.shape[2] * region.shape[3]).argmax(axis=-1)  # first max, scan order
                flat_idx[:, :, i, j] = (hlo[i] + a // rw) * w + wlo[j] + a % rw
        nbins = out_hw[0] * out_hw[1]  # explicit sizes: reshape(.., -1) is ambiguous for an empty batch
        out = np.take_along_axis(x.reshape(n, c, h * w), flat_idx.reshape(n, c, nbins), axis=-1).reshape(out.shape)
        ctx.idx, ctx.shape = flat_idx, x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        n, c, h, w = ctx.shape
        dx = np.zeros((n, c, h * w), dtype=grad.dtype)
        nbins = ctx.idx.shape[2] * ctx.idx.shape[3]
        idx = ctx.idx.reshape(n, c, nbins)
        g = grad.reshape(n, c, nbins)
        nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
        np.add.at(dx, (nn_[..., None], cc[..., None], idx), g)  # overlapping bins may share a max
        return dx.reshape(ctx.shape)


def adaptive_max_pool2d(input: Any, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Adaptive max pooling (``torch.nn.functional.adaptive_max_pool2d``), bins as adaptive average pooling."""
    x = float_tensor(input, "input")
    check_ndim(x, "input", (3, 4), "[N, C, H, W] or [C, H, W]")
    out_hw = _output_size(x, output_size)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1, *x.shape))
    out = AdaptiveMaxPool2dFunction.apply(x, out_hw=out_hw)
    return out.reshape(out.shape[1:]) if unbatched else out


def spatial_pyramid_pool(input: Any, levels: tuple[int, ...] = (1, 2, 4), mode: str = "max") -> Tensor:
    """SPP: ``[N, C, H, W]`` (any H, W ≥ 1) → ``[N, C · Σ n²]``, levels concatenated in order.

    Each level ``n`` is an adaptive ``n × n`` max (or ``mode="avg"``) pool flattened channel-major
    (``[N, C, n, n] → [N, C·n²]``), exactly ``torch.cat([F.adaptive_max_pool2d(x, n).flatten(1) ...], 1)``.
    """
    x = float_tensor(input, "input")
    check_ndim(x, "input", (4,), "[N, C, H, W]")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if len(levels) == 0 or any(not is_int_like(v) or v < 1
                               for v in levels):
        raise ValueError(f"levels must be a non-empty sequence of positive ints, got {levels!r}")
    pool = adaptive_max_pool2d if mode == "max" else adaptive_avg_pool2d
    parts = [pool(x, (int(n), int(n))).reshape((x.shape[0], -1)) for n in levels]
    return parts[0] if len(parts) == 1 else Concat.apply(*parts, axis=1)


def spp_output_length(channels: int, levels: tuple[int, ...] = (1, 2, 4)) -> int:
    """Length of the SPP vector: ``C · Σ n²`` (e.g. 256 · 21 = 5376 for levels 1, 2, 4)."""
    return channels * int(math.fsum(n * n for n in levels))
