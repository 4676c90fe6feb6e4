"""2-D convolution by im2col + one GEMM, and its backward by GEMMs + col2im (notes: 代码实现卷积操作).

Cross-correlation vs convolution (notes: 卷积神经网络中卷积操作和互相关操作的关系): what deep-learning
frameworks call "convolution" is the cross-correlation

    out[n, o, y, x] = b[o] + Σ_{c, i, j} w[o, c, i, j] · xp[n, g·C_g + c, y·s_h + i·d_h, x·s_w + j·d_w]

(``xp`` the zero-padded input, ``g`` the group of output channel ``o``). :func:`conv2d` computes that;
:func:`convolve2d` flips the kernel in both spatial axes first, which is the mathematical convolution
(``scipy.signal.convolve2d``). For kernels symmetric under that flip both agree (notes: "图像处理中大部分的
卷积核都是中心对称的").

im2col: the padded input is turned to channels-last ``[N, Hp, Wp, G, C_g]`` once; a strided *view*
``[N, H_out, W_out, G, k_h, k_w, C_g]`` (no copy) indexes every receptive field, one contiguous copy of it
is the column matrix ``cols [M = N·H_out·W_out, G, K_g = k_h·k_w·C_g]`` and the convolution is one matrix
product per group: ``out = cols @ W_gᵀ``.

Backward, with ``G_out = ∂L/∂out`` as ``[M, C_out]``:

* ``∂L/∂W_g = G_outᵀ @ cols`` (each weight touches exactly the inputs in its column),
* ``∂L/∂b = Σ_M G_out``,
* ``∂L/∂cols = G_out @ W_g``, then col2im: every column entry is added back to the input pixel it was
  copied from — a loop over the ``k_h·k_w`` kernel offsets, each one strided slice-add over all pixels at
  once (overlapping windows accumulate, which is the chain rule for a value used several times).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

from dlprimer._checks import is_int_like
from dlprimer.scratch.autograd import Context, Function, Tensor
from dlprimer.scratch.ops._checks import check_ndim, float_tensor, optional_float, pair

Padding = int | tuple[int, int] | str


def out_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """``⌊(size + pad_total − d·(k−1) − 1) / s⌋ + 1``: the output length of a convolution or pool."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def _windows(xp: NDArray[Any], kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int],
             ho: int, wo: int) -> NDArray[Any]:
    """View ``[N, Ho, Wo, G, kh, kw, Cg]`` of the receptive fields of channels-last ``xp [N, Hp, Wp, G, Cg]``."""
    n, _, _, g, cg = xp.shape
    s = xp.strides
    return as_strided(
        xp,
        shape=(n, ho, wo, g, kh, kw, cg),
        strides=(s[0], s[1] * stride[0], s[2] * stride[1], s[3], s[1] * dilation[0], s[2] * dilation[1], s[4]),
        writeable=False,
    )


class Conv2dFunction(Function):
    """Grouped, strided, dilated, padded 2-D cross-correlation (see the module docstring for the math).

    Inputs ``x [N, C_in, H, W]``, ``w [C_out, C_in/groups, k_h, k_w]``, ``b [C_out]`` or None;
    ``pads = (top, bottom, left, right)``. Output ``[N, C_out, H_out, W_out]``.
    """

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], w: NDArray[Any], b: NDArray[Any] | None, *,
                stride: tuple[int, int], pads: tuple[int, int, int, int], dilation: tuple[int, int],
                groups: int) -> NDArray[Any]:
        n, c, h, wd = x.shape
        co, cg, kh, kw = w.shape
        g, cog = groups, co // groups
        pt, pb, pl, pr = pads
        hp, wp = h + pt + pb, wd + pl + pr
        ho = out_size(hp, kh, stride[0], 0, dilation[0])
        wo = out_size(wp, kw, stride[1], 0, dilation[1])
        # 1. pad into channels-last layout: [N, Hp, Wp, G, Cg]
        xp = np.zeros((n, hp, wp, c), dtype=x.dtype)
        xp[:, pt : pt + h, pl : pl + wd, :] = x.transpose(0, 2, 3, 1)
        xp = xp.reshape(n, hp, wp, g, cg)
        # 2. im2col: one contiguous copy of the receptive-field view
        m, kg = n * ho * wo, kh * kw * cg
        cols = np.ascontiguousarray(_windows(xp, kh, kw, stride, dilation, ho, wo)).reshape(m, g, kg)
        # 3. weights as [G, Cog, Kg] in the same (kh, kw, Cg) order as the columns
        wg = w.reshape(g, cog, cg, kh, kw).transpose(0, 1, 3, 4, 2).reshape(g, cog, kg)
        if g == 1:
            out = cols.reshape(m, kg) @ wg[0].T  # [M, Co]
        else:
            out = np.matmul(cols.transpose(1, 0, 2), wg.transpose(0, 2, 1))  # [G, M, Cog]
            out = out.transpose(1, 0, 2).reshape(m, co)
        if b is not None:
            out += b
        ctx.save_for_backward(cols, wg, w)
        ctx.meta = (x.shape, w.shape, stride, pads, dilation, groups, ho, wo, b is not None)
        return out.reshape(n, ho, wo, co).transpose(0, 3, 1, 2)  # [N, Co, Ho, Wo] (a view)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any, Any]:
        cols, wg, w = ctx.saved
        (n, c, h, wd), (co, cg, kh, kw), stride, pads, dilation, g, ho, wo, has_bias = ctx.meta
        pt, pb, pl, pr = pads
        m, cog, kg = n * ho * wo, co // g, kh * kw * cg
        gout = np.ascontiguousarray(grad.transpose(0, 2, 3, 1)).reshape(m, co)  # [M, Co]
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gb = gout.sum(axis=0) if has_bias and ctx.needs_input_grad[2] else None
        gw = gx = None
        # stride 1: ∂L/∂x is itself a convolution ("full" correlation of G_out with the flipped, in/out-swapped
        # kernel), so one more im2col + GEMM replaces the GEMM + col2im scatter (cheaper: no k·k strided adds)
        ekh, ekw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
        as_conv = need_x and stride == (1, 1) and pt <= ekh and pb <= ekh and pl <= ekw and pr <= ekw
        if as_conv:
            w_t = w.reshape(g, cog, cg, kh, kw).transpose(0, 2, 1, 3, 4).reshape(c, cog, kh, kw)[..., ::-1, ::-1]
            gx = Conv2dFunction.forward(Context(), grad, w_t, None, stride=(1, 1),
                                        pads=(ekh - pt, ekh - pb, ekw - pl, ekw - pr), dilation=dilation, groups=g)
            need_x = False
        if g == 1:
            if need_w:
                gw = (gout.T @ cols.reshape(m, kg))[None]  # [1, Co, Kg]
            if need_x:
                dcols = gout @ wg[0]  # [M, Kg]
        else:
            gg = gout.reshape(m, g, cog).transpose(1, 0, 2)  # [G, M, Cog]
            if need_w:
                gw = np.matmul(gg.transpose(0, 2, 1), cols.transpose(1, 0, 2))  # [G, Cog, Kg]
            if need_x:
                dcols = np.matmul(gg, wg).transpose(1, 0, 2)  # [M, G, Kg]
        if gw is not None:
            gw = gw.reshape(g, cog, kh, kw, cg).transpose(0, 1, 4, 2, 3).reshape(co, cg, kh, kw)
        if need_x:
            # col2im: loop over kernel offsets, each a strided add over all output pixels
            dcols = dcols.reshape(n, ho, wo, g, kh, kw, cg)
            hp, wp = h + pt + pb, wd + pl + pr
            dxp = np.zeros((n, hp, wp, g, cg), dtype=grad.dtype)
            sh, sw = stride
            for i in range(kh):
                y0 = i * dilation[0]
                for j in range(kw):
                    x0 = j * dilation[1]
                    dxp[:, y0 : y0 + sh * (ho - 1) + 1 : sh, x0 : x0 + sw * (wo - 1) + 1 : sw] += dcols[
                        :, :, :, :, i, j, :
                    ]
            gx = dxp[:, pt : pt + h, pl : pl + wd].reshape(n, h, wd, c).transpose(0, 3, 1, 2)
        return gx, gw, gb


def _resolve_padding(padding: Padding, kernel: tuple[int, int], dilation: tuple[int, int],
                     stride: tuple[int, int], scipy_same: bool = False) -> tuple[int, int, int, int]:
    """Padding → ``(top, bottom, left, right)``.

    ``"valid"``: none. ``"same"`` (stride 1 only): total ``d·(k−1)``; torch puts the odd extra pixel at the
    bottom/right, scipy's convolve ``'same'`` at the top/left (``scipy_same``). ``"full"``: ``d·(k−1)``
    on every side.
    """
    if isinstance(padding, str):
        totals = [dilation[a] * (kernel[a] - 1) for a in (0, 1)]
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "full":
            return (totals[0], totals[0], totals[1], totals[1])
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' requires stride 1, got stride {stride}")
            lo = [(t + 1) // 2 if scipy_same else t // 2 for t in totals]
            return (lo[0], totals[0] - lo[0], lo[1], totals[1] - lo[1])
        raise ValueError(f"padding must be an int, a pair of ints, 'valid', 'same' or 'full', got {padding!r}")
    ph, pw = pair(padding, "padding", 0)
    return (ph, ph, pw, pw)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: int | tuple[int, int] = 1,
           padding: Padding = 0, dilation: int | tuple[int, int] = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, ``torch.nn.functional.conv2d`` semantics.

    Args:
        input: ``[N, C_in, H, W]`` (or unbatched ``[C_in, H, W]``), floating dtype.
        weight: ``[C_out, C_in / groups, k_h, k_w]``, same dtype as ``input``.
        bias: ``[C_out]`` or None.
        stride, dilation: int or ``(h, w)``, ≥ 1.
        padding: int or ``(h, w)`` zeros on both sides, or ``"valid"`` / ``"same"`` (stride 1).
        groups: divides both ``C_in`` and ``C_out``; group ``g`` sees input channels
            ``[g·C_in/G, (g+1)·C_in/G)`` and produces output channels ``[g·C_out/G, (g+1)·C_out/G)``.

    Returns:
        ``[N, C_out, H_out, W_out]``, ``H_out = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1``.

    Raises:
        TypeError: integer data or mismatched dtypes. ValueError: wrong rank, channel mismatch, groups not
        dividing the channels, a (dilated) kernel larger than the padded input.
    """
    x = float_tensor(input, "input")
    w = float_tensor(weight, "weight")
    b = optional_float(bias, "bias")
    check_ndim(x, "input", (3, 4), "[N, C, H, W] or [C, H, W]")
    check_ndim(w, "weight", (4,), "[C_out, C_in/groups, kH, kW]")
    if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
        raise TypeError(f"input, weight and bias must share a dtype, got {x.dtype}, {w.dtype}"
                        f"{'' if b is None else ', ' + str(b.dtype)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1, *x.shape))
    if not is_int_like(groups) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    c_in, c_out = x.shape[1], w.shape[0]
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both in_channels={c_in} and out_channels={c_out} "
                         f"(input shape {x.shape}, weight shape {w.shape})")
    if w.shape[1] * groups != c_in:
        raise ValueError(f"channel mismatch: input shape {x.shape} has {c_in} channels but weight shape "
                         f"{w.shape} with groups={groups} expects {w.shape[1] * groups}")
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    st = pair(stride, "stride", 1)
    dil = pair(dilation, "dilation", 1)
    kernel = (w.shape[2], w.shape[3])
    pads = _resolve_padding(padding, kernel, dil, st)
    for axis, size, (p0, p1) in ((2, x.shape[2], pads[:2]), (3, x.shape[3], pads[2:])):
        k_eff = dil[axis - 2] * (kernel[axis - 2] - 1) + 1
        if size + p0 + p1 < k_eff:
            raise ValueError(f"kernel size {kernel} (dilated {k_eff}) is larger than the padded input "
                             f"(input shape {x.shape}, padding {pads})")
    out = Conv2dFunction.apply(x, w, b, stride=st, pads=pads, dilation=dil, groups=int(groups))
    return out.reshape(out.shape[1:]) if unbatched else out


def convolve2d(input: Any, weight: Any, bias: Any = None, stride: int | tuple[int, int] = 1,
               padding: Padding = 0, dilation: int | tuple[int, int] = 1, groups: int = 1) -> Tensor:
    """True 2-D convolution: :func:`conv2d` with the kernel flipped up–down and left–right.

    ``out = conv2d(input, weight[..., ::-1, ::-1], ...)``. For one input and one output channel,
    ``padding=0`` (or ``"valid"``) equals ``scipy.signal.convolve2d(x, k, mode="valid")``, ``"full"``
    (``k−1`` zeros on every side) equals ``mode="full"``, and ``"same"`` equals ``mode="same"`` (scipy's
    centring: an even kernel's extra padding pixel goes top/left, unlike torch's ``conv2d(padding="same")``).
    With several channels each output channel is the sum over its input channels of those per-channel
    convolutions. For kernels with ``w = w[::-1, ::-1]`` (centrally symmetric) it equals :func:`conv2d`.
    Arguments and errors as :func:`conv2d`.
    """
    w = float_tensor(weight, "weight")
    check_ndim(w, "weight", (4,), "[C_out, C_in/groups, kH, kW]")
    if isinstance(padding, str):
        padding_pairs = _resolve_padding(padding, (w.shape[2], w.shape[3]), pair(dilation, "dilation", 1),
                                         pair(stride, "stride", 1), scipy_same=True)
        x = float_tensor(input, "input")
        if padding_pairs != (0, 0, 0, 0):
            x = pad2d(x, padding_pairs)
        return conv2d(x, w[:, :, ::-1, ::-1], bias, stride, 0, dilation, groups)
    return conv2d(input, w[:, :, ::-1, ::-1], bias, stride, padding, dilation, groups)


class Pad2dFunction(Function):
    """Constant zero padding of the last two axes; the gradient is the un-padded centre."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], pads: tuple[int, int, int, int]) -> NDArray[Any]:
        pt, pb, pl, pr = pads
        ctx.pads, ctx.shape = pads, x.shape
        width = [(0, 0)] * (x.ndim - 2) + [(pt, pb), (pl, pr)]
        return np.pad(x, width)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        pt, _, pl, _ = ctx.pads
        h, w = ctx.shape[-2:]
        return grad[..., pt : pt + h, pl : pl + w]


def pad2d(input: Any, pads: tuple[int, int, int, int]) -> Tensor:
    """Zero-pad the last two axes by ``(top, bottom, left, right)`` pixels (all ≥ 0)."""
    x = float_tensor(input, "input")
    if len(pads) != 4 or any(int(p) < 0 for p in pads):
        raise ValueError(f"pads must be four non-negative ints (top, bottom, left, right), got {pads!r}")
    return Pad2dFunction.apply(x, pads=tuple(int(p) for p in pads))
