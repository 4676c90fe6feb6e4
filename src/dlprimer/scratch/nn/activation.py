"""Activation modules wrapping :mod:`dlprimer.scratch.ops.activation` (torch.nn names)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlprimer.scratch import functional as F
from dlprimer.scratch.autograd import Tensor
from dlprimer.scratch.nn.layers import _positive_int
from dlprimer.scratch.nn.module import Module, Parameter


class ReLU(Module):
    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class SiLU(Module):
    def forward(self, x: Any) -> Tensor:
        return F.silu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)


class PReLU(Module):
    """Learnable negative slope: one shared (``num_parameters=1``) or one per channel, initialized to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = np.float32) -> None:
        super().__init__()
        self.weight = Parameter(np.full(_positive_int(num_parameters, "num_parameters"), init, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        return F.prelu(x, self.weight)


class Swish(Module):
    """``x·σ(βx)``; ``learnable=True`` makes β a Parameter (a scalar) trained with the rest."""

    def __init__(self, beta: float = 1.0, learnable: bool = False, dtype: Any = np.float32) -> None:
        super().__init__()
        if learnable:
            self.beta = Parameter(np.asarray(beta, dtype=dtype))
        else:
            self.beta = float(beta)

    def forward(self, x: Any) -> Tensor:
        return F.swish(x, self.beta)


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)


class LogSoftmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)
