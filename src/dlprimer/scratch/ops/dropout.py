"""Inverted dropout (Srivastava et al. 2014; notes: Dropout).

Training: draw ``u ~ U[0, 1)`` of the input's shape from a NumPy ``Generator`` and keep the elements with
``u ≥ p`` (probability ``1 − p``); ``y = x · mask / (1 − p)``, so ``E[y] = x`` and evaluation needs no
rescaling. ``∂y/∂x = mask / (1 − p)``. ``p = 1`` drops everything (``y = 0``). Evaluation (``training=False``)
is the identity. The mask cannot match torch's (different random streams); it is reproducible from the
generator's seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer._checks import check_probability
from dlprimer.scratch import _random
from dlprimer.scratch.autograd import Context, Function, Tensor
from dlprimer.scratch.ops._checks import float_tensor


class DropoutFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], scale_mask: NDArray[Any]) -> NDArray[Any]:
        ctx.save_for_backward(scale_mask)
        return x * scale_mask

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, None]:
        return grad * ctx.saved[0], None


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout with drop probability ``p ∈ [0, 1]``; ``generator`` defaults to the engine's
    (``dlprimer.scratch.manual_seed``). The mask is ``generator.random(input.shape) >= p``."""
    x = float_tensor(input, "input")
    p = check_probability(p, "p")
    if not training or p == 0.0:
        return x
    rng = _random.resolve(generator)
    keep = rng.random(x.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return DropoutFunction.apply(x, (keep * scale).astype(x.dtype))
