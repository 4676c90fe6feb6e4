"""Activations with hand-derived derivatives (notes: 激活函数; softmax定义及作用; 手推公式 softmax 及求导).

Each Function's backward is the local derivative times the incoming gradient:

==============  ====================================  =========================================
name            f(x)                                  f'(x)
==============  ====================================  =========================================
sigmoid         σ(x) = 1 / (1 + e^(−x))               σ(x)(1 − σ(x))
tanh            tanh x                                1 − tanh² x
relu            max(x, 0)                             1 if x > 0 else 0  (0 at x = 0, as torch)
leaky_relu      x if x > 0 else a·x                   1 if x > 0 else a  (a at x = 0, as torch)
prelu           x if x > 0 else w_c·x                 ∂/∂x: 1 or w_c;  ∂/∂w_c: x where x ≤ 0
swish / silu    x·σ(βx)  (silu: β = 1)                ∂/∂x: σ(βx) + βx·σ(βx)(1 − σ(βx));
                                                      ∂/∂β: x²·σ(βx)(1 − σ(βx))
softmax         e^(x_i − m) / Σ_j e^(x_j − m)         ∂L/∂x = y ⊙ (g − Σ_j g_j y_j)
log_softmax     x_i − m − log Σ_j e^(x_j − m)         ∂L/∂x = g − softmax(x) · Σ_j g_j
==============  ====================================  =========================================

Numerical stability: softmax subtracts the row max ``m`` first (the result is unchanged since the factor
``e^(−m)`` cancels), so nothing overflows even for logits of magnitude 1e4 and more; log_softmax never
takes ``log(softmax)`` (which is ``log 0 = −∞`` for far-from-max entries). The notes' snippet is broken:
it is not Python (``{ }`` braces around the body), uses ``keepdim=`` (NumPy's keyword is ``keepdims``), and
its ``row_max.reshape(-1, 1)`` only broadcasts correctly for 2-D input with ``axis=1``. The stable sigmoid
evaluates ``e^(−|x|)`` only, so it never overflows either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.scratch.autograd import Context, Function, Tensor, unbroadcast
from dlprimer.scratch.ops._checks import float_tensor


def _sigmoid(x: NDArray[Any]) -> NDArray[Any]:
    """Stable logistic function: uses ``e^(−|x|) ∈ (0, 1]`` on both branches."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class SigmoidFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any]) -> NDArray[Any]:
        y = _sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        (y,) = ctx.saved
        return grad * y * (1.0 - y)


class TanhFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any]) -> NDArray[Any]:
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        (y,) = ctx.saved
        return grad * (1.0 - y * y)


class ReLUFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any]) -> NDArray[Any]:
        mask = x > 0
        ctx.save_for_backward(mask)
        return np.where(mask, x, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return np.where(ctx.saved[0], grad, 0).astype(grad.dtype, copy=False)


class LeakyReLUFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], negative_slope: float) -> NDArray[Any]:
        mask = x > 0
        ctx.save_for_backward(mask)
        ctx.slope = negative_slope
        return np.where(mask, x, x * negative_slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return np.where(ctx.saved[0], grad, grad * ctx.slope).astype(grad.dtype, copy=False)


class PReLUFunction(Function):
    """``w`` has been reshaped to broadcast over channel axis 1 (or is a single value)."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], w: NDArray[Any]) -> NDArray[Any]:
        mask = x > 0
        ctx.save_for_backward(x, w, mask)
        return np.where(mask, x, w * x)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        x, w, mask = ctx.saved
        gx = np.where(mask, grad, grad * w) if ctx.needs_input_grad[0] else None
        gw = unbroadcast(np.where(mask, 0, grad * x), w.shape) if ctx.needs_input_grad[1] else None
        return gx, gw


class SwishFunction(Function):
    """``y = x·σ(βx)`` with a tensor (scalar or broadcastable) ``β``; derivatives in the module table."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], beta: NDArray[Any]) -> NDArray[Any]:
        s = _sigmoid(beta * x)
        ctx.save_for_backward(x, beta, s)
        return x * s

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        x, beta, s = ctx.saved
        ds = s * (1.0 - s)  # σ'(βx)
        gx = grad * (s + beta * x * ds) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * x * x * ds, np.shape(beta)) if ctx.needs_input_grad[1] else None
        return gx, gb


class SoftmaxFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], dim: int) -> NDArray[Any]:
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        y = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        (y,) = ctx.saved
        return y * (grad - np.sum(grad * y, axis=ctx.dim, keepdims=True))


class LogSoftmaxFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], dim: int) -> NDArray[Any]:
        shifted = x - np.max(x, axis=dim, keepdims=True)
        y = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        (y,) = ctx.saved
        return grad - np.exp(y) * np.sum(grad, axis=ctx.dim, keepdims=True)


def sigmoid(input: Any) -> Tensor:
    """Logistic sigmoid ``1/(1+e^(−x))``, evaluated stably (any magnitude)."""
    return SigmoidFunction.apply(float_tensor(input, "input"))


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent."""
    return TanhFunction.apply(float_tensor(input, "input"))


def relu(input: Any, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; gradient 0 at ``x = 0`` (torch's convention). ``inplace`` is accepted and ignored."""
    return ReLUFunction.apply(float_tensor(input, "input"))


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x if x > 0 else negative_slope·x``."""
    return LeakyReLUFunction.apply(float_tensor(input, "input"), negative_slope=float(negative_slope))


def prelu(input: Any, weight: Any) -> Tensor:
    """Parametric ReLU: ``x if x > 0 else w_c·x`` with ``weight`` of shape ``[1]`` or ``[C]`` (C = axis 1;
    an input of fewer than 2 dimensions has one channel, as in torch, so it takes ``[1]`` only)."""
    x = float_tensor(input, "input")
    w = float_tensor(weight, "weight")
    if w.ndim != 1:
        raise ValueError(f"weight must be 1-D ([1] or [C]), got shape {w.shape}")
    if w.shape[0] != 1:
        channels = x.shape[1] if x.ndim >= 2 else 1  # torch: below 2-D there is no channel axis (1 channel)
        if w.shape[0] != channels:
            raise ValueError(f"weight has {w.shape[0]} values but input shape {x.shape} has {channels} channels")
        if x.ndim >= 2:
            w = w.reshape((1, w.shape[0]) + (1,) * (x.ndim - 2))
    return PReLUFunction.apply(x, w)


def swish(input: Any, beta: float | Tensor = 1.0) -> Tensor:
    """Swish ``x·σ(βx)`` (Ramachandran et al. 2017; notes: Swish函数). ``beta`` is a number (fixed) or a
    Tensor with ``requires_grad=True`` (learnable; scalar or broadcastable to ``input``). β = 1 is SiLU;
    β → ∞ tends to ReLU and β = 0 gives the linear ``x/2`` (the notes' "interpolation")."""
    x = float_tensor(input, "input")
    b = beta if isinstance(beta, Tensor) else Tensor(np.asarray(beta, dtype=x.dtype))
    if not np.issubdtype(b.dtype, np.floating):
        raise TypeError(f"beta must be floating, got dtype {b.dtype}")
    return SwishFunction.apply(x, b)


def silu(input: Any, inplace: bool = False) -> Tensor:
    """SiLU ``x·σ(x)`` (swish with β = 1)."""
    return swish(input, 1.0)


def _softmax_dim(x: Tensor, dim: int | None) -> int:
    if dim is None:  # torch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim {dim} is out of range for input of shape {x.shape}")
    return int(dim) % max(x.ndim, 1)


def softmax(input: Any, dim: int | None = None) -> Tensor:
    """Stable softmax along ``dim`` (see the module docstring for why the notes' version is broken)."""
    x = float_tensor(input, "input")
    return SoftmaxFunction.apply(x, dim=_softmax_dim(x, dim))


def log_softmax(input: Any, dim: int | None = None) -> Tensor:
    """Stable ``log softmax`` along ``dim``: ``x − max − log Σ exp(x − max)``."""
    x = float_tensor(input, "input")
    return LogSoftmaxFunction.apply(x, dim=_softmax_dim(x, dim))
