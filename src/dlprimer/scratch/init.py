"""Weight initialization (notes: Xavier / He 初始化), ``torch.nn.init`` names; each fills a Tensor in place.

* Xavier/Glorot (Glorot & Bengio 2010): keeps the variance of activations and gradients equal for
  ``tanh``-like units: ``std = gain·√(2 / (fan_in + fan_out))``; uniform bound ``√3·std``
  (= ``gain·√(6/(fan_in+fan_out))``, the notes' ``±√(6/(m+n))``).
* Kaiming/He (He et al. 2015) for ReLU: ``std = gain / √fan`` with ``gain = √2`` for ReLU, so the notes'
  ``N(0, 2/n)``; uniform bound ``√3·std``.
* ``fan_in = C_in·k_h·k_w`` and ``fan_out = C_out·k_h·k_w`` for a weight ``[C_out, C_in, k_h, k_w]``.

Draws use the ``generator`` given or the engine's default (``dlprimer.scratch.manual_seed``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlprimer._checks import check_float
from dlprimer.scratch import _random
from dlprimer.scratch.autograd import Tensor

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid", "identity")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain (``torch.nn.init.calculate_gain``): 1 (linear/conv/sigmoid), 5/3 (tanh),
    √2 (relu), √(2/(1+a²)) (leaky_relu, a = ``param`` or 0.01), 3/4 (selu)."""
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_float(param, "param")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    known = [*_LINEAR_GAIN, "tanh", "relu", "leaky_relu", "selu"]
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}; known: {known}")


def _fans(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor: Tensor, values: Any) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor must be a dlprimer.scratch Tensor, got {type(tensor).__name__}")
    tensor.data[...] = values
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    return _fill(tensor, _random.resolve(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    return _fill(tensor, _random.resolve(generator).normal(mean, std, size=tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    fan_in, fan_out = _fans(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


# names without the trailing underscore, as the issue lists them
constant, zeros, ones, uniform, normal = constant_, zeros_, ones_, uniform_, normal_
xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal = (
    xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_)
