"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm2d (torch's semantics).

BatchNorm (notes: 训练/推理): in training it normalizes with the batch statistics and updates
``running_mean``/``running_var`` (unbiased variance) with ``momentum`` — or, with ``momentum=None``, the
cumulative average ``1/num_batches_tracked``; in evaluation it uses the running statistics. Buffers:
``running_mean [C]`` (zeros), ``running_var [C]`` (ones), ``num_batches_tracked`` (int64 scalar).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlprimer._checks import is_int_like
from dlprimer.scratch import functional as F
from dlprimer.scratch.autograd import Tensor
from dlprimer.scratch.nn.layers import _positive_int
from dlprimer.scratch.nn.module import Module, Parameter
from dlprimer.scratch.ops._checks import float_tensor


def _init_channel_norm(module: Module, num_features: int, eps: float, momentum: float | None, affine: bool,
                       track_running_stats: bool, dtype: Any) -> None:
    """The parameters and buffers shared by BatchNorm and InstanceNorm, named and shaped as torch's."""
    module.num_features = _positive_int(num_features, "num_features")
    module.eps, module.momentum, module.affine = eps, momentum, affine
    module.track_running_stats = track_running_stats
    if affine:
        module.weight = Parameter(np.ones(num_features, dtype=dtype))
        module.bias = Parameter(np.zeros(num_features, dtype=dtype))
    if track_running_stats:
        module.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        module.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        module.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))


class _BatchNorm(Module):
    _ranks: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        _init_channel_norm(self, num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, x: Any) -> Tensor:
        t = float_tensor(x, "input")
        if t.ndim not in self._ranks:
            raise ValueError(f"{type(self).__name__} expects input {self._layout}, got shape {t.shape}")
        if t.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) got input shape {t.shape} with "
                             f"{t.shape[1]} channels")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch = self.training or not self.track_running_stats
        rm = self.running_mean if self.track_running_stats else None
        rv = self.running_var if self.track_running_stats else None
        return F.batch_norm(t, rm, rv, self.weight if self.affine else None, self.bias if self.affine else None,
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch norm over ``[N, C]`` or ``[N, C, L]`` (statistics over N and L)."""

    _ranks = (2, 3)
    _layout = "[N, C] or [N, C, L]"


class BatchNorm2d(_BatchNorm):
    """Batch norm over ``[N, C, H, W]`` (statistics over N, H, W per channel)."""

    _ranks = (4,)
    _layout = "[N, C, H, W]"


class LayerNorm(Module):
    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        ns = (int(normalized_shape),) if is_int_like(normalized_shape) else tuple(normalized_shape)
        self.normalized_shape, self.eps = ns, eps
        if elementwise_affine:
            self.weight = Parameter(np.ones(ns, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(ns, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_groups = _positive_int(num_groups, "num_groups")
        self.num_channels = _positive_int(num_channels, "num_channels")
        if num_channels % num_groups:
            raise ValueError(f"num_groups={num_groups} must divide num_channels={num_channels}")
        self.eps = eps
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class InstanceNorm2d(Module):
    """Instance norm of ``[N, C, H, W]``; torch's defaults ``affine=False, track_running_stats=False``.

    With ``track_running_stats`` the buffers are torch's: ``running_mean``, ``running_var`` and a
    ``num_batches_tracked`` that (as in torch's InstanceNorm) is never incremented, so ``state_dict`` keys
    match; ``momentum=None`` means 0 (torch passes ``momentum or 0.0``: the running statistics stay put).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype: Any = np.float32) -> None:
        super().__init__()
        _init_channel_norm(self, num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, x: Any) -> Tensor:
        t = float_tensor(x, "input")
        if t.ndim != 4 or t.shape[1] != self.num_features:
            raise ValueError(f"InstanceNorm2d({self.num_features}) expects [N, {self.num_features}, H, W], "
                             f"got shape {t.shape}")
        tracked = self.track_running_stats
        return F.instance_norm(t, self.running_mean if tracked else None, self.running_var if tracked else None,
                               self.weight if self.affine else None, self.bias if self.affine else None,
                               use_input_stats=self.training or not tracked,
                               momentum=0.0 if self.momentum is None else self.momentum, eps=self.eps)
