"""Layers that hold parameters and call the functional ops: Linear, Conv2d, pools, Dropout, Flatten.

Default initialization equals torch's (``reset_parameters``): weights ``kaiming_uniform_(a=√5)``, i.e.
``U(−1/√fan_in, 1/√fan_in)``, and biases ``U(−1/√fan_in, 1/√fan_in)``; drawn from the engine's generator
(or the ``generator`` passed), so values differ from torch's but the distribution is the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlprimer._checks import is_float_like, is_int_like
from dlprimer.scratch import _random
from dlprimer.scratch import functional as F
from dlprimer.scratch.autograd import Tensor
from dlprimer.scratch.nn.module import Module, Parameter
from dlprimer.scratch.ops._checks import pair


def _positive_int(value: Any, name: str) -> int:
    if not is_int_like(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _uniform(shape: tuple[int, ...], bound: float, dtype: Any, generator: np.random.Generator | None) -> Parameter:
    rng = _random.resolve(generator)
    return Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))


class Linear(Module):
    """``y = x Wᵀ + b``; ``weight [out_features, in_features]``, ``bias [out_features]``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = _uniform((self.out_features, self.in_features), bound, dtype, generator)
        if bias:
            self.bias = _uniform((self.out_features,), bound, dtype, generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution layer (cross-correlation); ``weight [C_out, C_in/groups, kH, kW]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True, dtype: Any = np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.groups = _positive_int(groups, "groups")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.kernel_size = pair(kernel_size, "kernel_size", 1)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = _uniform(shape, bound, dtype, generator)
        if bias:
            self.bias = _uniform((self.out_channels,), bound, dtype, generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxPool2d(Module):
    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x: Any) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class AvgPool2d(Module):
    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(Module):
    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_max_pool2d(x, self.output_size)


class SpatialPyramidPool(Module):
    """SPP layer: ``[N, C, H, W]`` (any H, W) → ``[N, C·Σ n²]`` (see ``spatial_pyramid_pool``)."""

    def __init__(self, levels: tuple[int, ...] = (1, 2, 4), mode: str = "max") -> None:
        super().__init__()
        self.levels, self.mode = tuple(levels), mode

    def forward(self, x: Any) -> Tensor:
        return F.spatial_pyramid_pool(x, self.levels, self.mode)


class Dropout(Module):
    """Inverted dropout in training mode, identity in evaluation mode."""

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not is_float_like(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p, self.generator = float(p), generator

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, generator=self.generator)


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        t = x if isinstance(x, Tensor) else Tensor(x)
        return t.flatten(self.start_dim, self.end_dim)


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x
