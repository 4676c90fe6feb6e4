"""Fully connected layer ``y = x Wᵀ + b`` (notes: 手推公式 BP).

With ``G = ∂L/∂y`` (``[..., out]``): ``∂L/∂x = G W``, ``∂L/∂W = Σ_rows Gᵀ x`` (every leading axis
flattened into rows) and ``∂L/∂b = Σ_rows G``.
"""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

from dlprimer.scratch.autograd import Context, Function, Tensor
from dlprimer.scratch.ops._checks import float_tensor, optional_float


class LinearFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], w: NDArray[Any], b: NDArray[Any] | None) -> NDArray[Any]:
        ctx.save_for_backward(x, w)
        out = x @ w.T  # [..., out]
        if b is not None:
            out += b
        ctx.has_bias = b is not None
        return out

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any, Any]:
        x, w = ctx.saved
        g2 = grad.reshape(-1, grad.shape[-1])  # [rows, out]
        gx = grad @ w if ctx.needs_input_grad[0] else None
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if ctx.needs_input_grad[1] else None
        gb = g2.sum(axis=0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """``input [..., in] @ weight[out, in]ᵀ + bias [out]`` → ``[..., out]`` (``torch.nn.functional.linear``)."""
    x = float_tensor(input, "input")
    w = float_tensor(weight, "weight")
    b = optional_float(bias, "bias")
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D [out_features, in_features], got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"input's last dimension must equal in_features={w.shape[1]} (weight shape {w.shape}),"
                         f" got input shape {x.shape}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},), got {b.shape}")
    if x.dtype != w.dtype or (b is not None and b.dtype != w.dtype):
        raise TypeError(f"input and weight (and bias) must share a dtype, got {x.dtype} and {w.dtype}")
    return LinearFunction.apply(x, w, b)
