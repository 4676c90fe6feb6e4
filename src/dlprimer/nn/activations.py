"""Swish as a ``torch.autograd.Function`` with a hand-written backward, and its ``nn.Module`` wrapper.

The torch counterpart of the scratch engine's Function (notes: function 与 module; Swish函数):
``swish(x) = x·σ(βx)`` (Ramachandran et al. 2017) with

    ∂y/∂x = σ(βx) + βx·σ(βx)(1 − σ(βx)),        ∂y/∂β = x²·σ(βx)(1 − σ(βx)).

β = 1 is SiLU; β → ∞ tends to ReLU, β = 0 gives ``x/2``. ``β`` may be fixed (a float) or learnable
(a ``Parameter``: a scalar, or one value per channel broadcast over axis 1). ``torch.autograd.gradcheck``
verifies the backward (tests/nn/test_activations.py).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from dlprimer._checks import is_int_like


def _reduce_to(grad: Tensor, shape: torch.Size) -> Tensor:
    """Sum a broadcast gradient back to ``shape``."""
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(i, keepdim=True)
    return grad


class SwishFunction(torch.autograd.Function):
    """``SwishFunction.apply(x, beta)`` with ``beta`` a tensor broadcastable to ``x``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, beta: Tensor) -> Tensor:
        s = torch.sigmoid(beta * x)
        ctx.save_for_backward(x, beta, s)
        return x * s

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, beta, s = ctx.saved_tensors
        ds = s * (1 - s)  # σ'(βx)
        gx = grad * (s + beta * x * ds) if ctx.needs_input_grad[0] else None
        gb = _reduce_to(grad * x * x * ds, beta.shape) if ctx.needs_input_grad[1] else None
        return gx, gb


def swish(x: Tensor, beta: float | Tensor = 1.0) -> Tensor:
    """``x·σ(βx)`` through :class:`SwishFunction`; ``beta`` a float (fixed) or a tensor (learnable)."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}"
                        f"{'' if not isinstance(x, Tensor) else ' of dtype ' + str(x.dtype)}")
    b = beta if isinstance(beta, Tensor) else torch.tensor(float(beta), dtype=x.dtype, device=x.device)
    return SwishFunction.apply(x, b)


class Swish(nn.Module):
    """Swish activation module.

    Args:
        beta: initial β.
        learnable: make β a ``Parameter``.
        num_parameters: 1 (a shared β) or the channel count ``C`` (β per channel of ``[N, C, ...]`` input).
    """

    def __init__(self, beta: float = 1.0, learnable: bool = False, num_parameters: int = 1) -> None:
        super().__init__()
        if not is_int_like(num_parameters) or num_parameters < 1:
            raise ValueError(f"num_parameters must be a positive int, got {num_parameters!r}")
        if num_parameters > 1 and not learnable:
            raise ValueError("num_parameters > 1 requires learnable=True")
        self.num_parameters = num_parameters
        if learnable:
            self.beta = nn.Parameter(torch.full((num_parameters,), float(beta)))
        else:
            self.register_buffer("beta", torch.tensor(float(beta)))

    def forward(self, x: Tensor) -> Tensor:
        beta = self.beta
        if self.num_parameters > 1:
            if x.dim() < 2 or x.shape[1] != self.num_parameters:
                raise ValueError(f"Swish(num_parameters={self.num_parameters}) needs input [N, "
                                 f"{self.num_parameters}, ...], got shape {tuple(x.shape)}")
            beta = beta.view(1, -1, *([1] * (x.dim() - 2)))
        elif beta.dim() == 1:
            beta = beta.reshape(())
        return swish(x, beta.to(x.dtype))

    def extra_repr(self) -> str:
        return f"learnable={isinstance(self.beta, nn.Parameter)}, num_parameters={self.num_parameters}"
