"""Normalization layers from one primitive (notes: BN 公式, 训练/推理, LN / IN / GN; BN的代码实现).

:class:`StandardizeFunction` computes ``x̂ = (x − μ) / √(σ² + ε)`` with the mean ``μ`` and the *biased*
variance ``σ² = mean((x − μ)²)`` over the given axes. Its backward (with ``g = ∂L/∂x̂``, ``m`` the number
of reduced elements, means over the same axes)::

    ∂L/∂x = (1/√(σ²+ε)) · (g − mean(g) − x̂ · mean(g · x̂))

derived from ``∂x̂_i/∂x_j = (δ_ij − 1/m − x̂_i x̂_j / m) / √(σ²+ε)``. The affine ``γ x̂ + β`` is ordinary
broadcasting arithmetic on Tensors, so its gradients (``Σ g x̂`` and ``Σ g``) come from the autograd.

* batch norm: axes (N, H, W) per channel — "2C parameters" γ, β; in training the running statistics
  become ``(1 − momentum)·running + momentum·batch`` with the **unbiased** variance ``σ²·m/(m − 1)``
  (torch's rule), while normalization itself uses the biased one; evaluation uses the running statistics.
  One value per channel in training is an error (the variance is undefined: "小 batch 退化").
* layer norm: the last ``len(normalized_shape)`` axes per sample (elementwise γ, β).
* instance norm: (H, W) per sample and channel.
* group norm: (C/G, H, W) per sample and group of channels; γ, β per channel.

Notes corrections: the notes say inference uses "the average of all training-batch means" — frameworks use
an exponential moving average (``momentum``; the plain cumulative average only with ``momentum=None``).
The notes' one-liners "LN: 在N通道归一化" / "IN: 在CN通道归一化" name the axes that are *kept*: LN
normalizes each sample over (C, H, W), IN each (sample, channel) over (H, W).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer._checks import is_int_like
from dlprimer.scratch.autograd import Context, Function, Tensor
from dlprimer.scratch.ops._checks import float_tensor, optional_float


class StandardizeFunction(Function):
    """``x̂ = (x − mean) / sqrt(var_biased + eps)`` over ``axes``; writes ``mean``/``var`` into ``stats``."""

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], *, axes: tuple[int, ...], eps: float,
                stats: dict[str, NDArray[Any]] | None = None) -> NDArray[Any]:
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + eps)
        xhat = centred * inv
        if stats is not None:
            stats["mean"], stats["var"] = mean, var
        ctx.save_for_backward(xhat, inv)
        ctx.axes = axes
        return xhat

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        xhat, inv = ctx.saved
        axes = ctx.axes
        return inv * (grad - grad.mean(axis=axes, keepdims=True)
                      - xhat * (grad * xhat).mean(axis=axes, keepdims=True))


def _channel_shape(x: Tensor) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...]) -> Tensor:
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _check_channel_param(t: Tensor | None, name: str, c: int, x: Tensor) -> None:
    if t is not None and t.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},) for input shape {x.shape}, got {t.shape}")


def _buffer(r: Any, name: str) -> NDArray[Any] | None:
    """Running statistics may come as ndarrays or Tensors (their ``.data`` is updated in place)."""
    if r is None:
        return None
    arr = r.data if isinstance(r, Tensor) else r
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} must be a floating ndarray (updated in place) or None, got {type(r).__name__}")
    return arr


def batch_norm(input: Any, running_mean: NDArray[Any] | None, running_var: NDArray[Any] | None,
               weight: Any = None, bias: Any = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalization (Ioffe & Szegedy 2015), ``torch.nn.functional.batch_norm`` semantics.

    Args:
        input: ``[N, C]``, ``[N, C, L]`` or ``[N, C, H, W]``.
        running_mean, running_var: ``[C]`` ndarrays updated **in place** when ``training`` (or None);
            required when not training.
        weight, bias: γ, β of shape ``[C]`` or None.
        momentum: weight of the new batch statistic in the running average.
    """
    x = float_tensor(input, "input")
    if x.ndim < 2:
        raise ValueError(f"input must be [N, C, ...] with at least 2 dimensions, got shape {x.shape}")
    c = x.shape[1]
    w, b = optional_float(weight, "weight"), optional_float(bias, "bias")
    _check_channel_param(w, "weight", c, x)
    _check_channel_param(b, "bias", c, x)
    running_mean, running_var = _buffer(running_mean, "running_mean"), _buffer(running_var, "running_var")
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and np.shape(r) != (c,):
            raise ValueError(f"{name} must have shape ({c},) for input shape {x.shape}, got {np.shape(r)}")
    axes = (0, *range(2, x.ndim))
    shape = _channel_shape(x)
    if training:
        m = x.numel() // c
        if m <= 1:
            raise ValueError(f"batch_norm in training needs more than 1 value per channel, got input shape "
                             f"{x.shape}")
        stats: dict[str, NDArray[Any]] = {}
        y = StandardizeFunction.apply(x, axes=axes, eps=eps, stats=stats)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * stats["mean"].reshape(c)
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += momentum * stats["var"].reshape(c) * (m / (m - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm in evaluation needs running_mean and running_var")
        rm = np.asarray(running_mean, dtype=x.dtype).reshape(shape)
        inv = (1.0 / np.sqrt(np.asarray(running_var, dtype=x.dtype) + eps)).reshape(shape)
        y = (x - rm) * inv
    return _affine(y, w, b, shape)


def layer_norm(input: Any, normalized_shape: int | tuple[int, ...], weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalization (Ba et al. 2016) over the trailing ``normalized_shape`` axes;
    ``weight``/``bias`` have shape ``normalized_shape``."""
    x = float_tensor(input, "input")
    ns = (int(normalized_shape),) if is_int_like(normalized_shape) else tuple(normalized_shape)
    if len(ns) == 0 or x.ndim < len(ns) or x.shape[x.ndim - len(ns):] != ns:
        raise ValueError(f"normalized_shape {ns} must equal the trailing dimensions of input shape {x.shape}")
    w, b = optional_float(weight, "weight"), optional_float(bias, "bias")
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.shape != ns:
            raise ValueError(f"{name} must have shape {ns}, got {t.shape}")
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    y = StandardizeFunction.apply(x, axes=axes, eps=eps)
    return _affine(y, w, b, ns)


def instance_norm(input: Any, running_mean: NDArray[Any] | None = None, running_var: NDArray[Any] | None = None,
                  weight: Any = None, bias: Any = None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalization (Ulyanov et al. 2016) over the spatial axes of each sample and channel.

    ``input [N, C, *spatial]``. With running buffers and ``use_input_stats`` they are updated with the
    batch average of the per-instance mean and unbiased variance (torch's rule).
    """
    x = float_tensor(input, "input")
    if x.ndim < 3:
        raise ValueError(f"input must be [N, C, *spatial] with at least 3 dimensions, got shape {x.shape}")
    c = x.shape[1]
    w, b = optional_float(weight, "weight"), optional_float(bias, "bias")
    _check_channel_param(w, "weight", c, x)
    _check_channel_param(b, "bias", c, x)
    shape = _channel_shape(x)
    axes = tuple(range(2, x.ndim))
    running_mean, running_var = _buffer(running_mean, "running_mean"), _buffer(running_var, "running_var")
    if use_input_stats:
        m = int(np.prod(x.shape[2:]))
        if m <= 1:
            raise ValueError(f"instance_norm needs more than 1 spatial element, got input shape {x.shape}")
        stats: dict[str, NDArray[Any]] = {}
        y = StandardizeFunction.apply(x, axes=axes, eps=eps, stats=stats)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * stats["mean"].reshape(x.shape[0], c).mean(axis=0)
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += momentum * (stats["var"].reshape(x.shape[0], c) * (m / (m - 1))).mean(axis=0)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm with use_input_stats=False needs running_mean and running_var")
        rm = np.asarray(running_mean, dtype=x.dtype).reshape(shape)
        inv = (1.0 / np.sqrt(np.asarray(running_var, dtype=x.dtype) + eps)).reshape(shape)
        y = (x - rm) * inv
    return _affine(y, w, b, shape)


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """Group normalization (Wu & He 2018): channels split into ``num_groups`` groups, each normalized over
    (C/G, *spatial) per sample. ``input [N, C, *]``, ``weight``/``bias [C]``."""
    x = float_tensor(input, "input")
    if x.ndim < 2:
        raise ValueError(f"input must be [N, C, ...] with at least 2 dimensions, got shape {x.shape}")
    c = x.shape[1]
    if not is_int_like(num_groups) or num_groups < 1 \
            or c % num_groups:
        raise ValueError(f"num_groups must be a positive int dividing the {c} channels of input shape "
                         f"{x.shape}, got {num_groups!r}")
    w, b = optional_float(weight, "weight"), optional_float(bias, "bias")
    _check_channel_param(w, "weight", c, x)
    _check_channel_param(b, "bias", c, x)
    grouped = x.reshape((x.shape[0], int(num_groups), -1))  # [N, G, C/G · spatial]
    y = StandardizeFunction.apply(grouped, axes=(2,), eps=eps).reshape(x.shape)
    return _affine(y, w, b, _channel_shape(x))
