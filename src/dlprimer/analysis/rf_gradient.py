"""Gradient-based receptive-field measurement, the independent check of the analytic recursion.

Back-propagate from one output position of a layer and measure the box of input pixels whose
gradient is non-zero (Luo et al., 2016, "Understanding the effective receptive field"). To see the
*theoretical* field rather than the data-dependent effective one, the model copy is linearised so that
no path is cut or cancelled:

* every parameter of dimension ≥ 2 (conv / linear weights) is set to ``1/fan_in`` > 0, biases to 0;
  norm layers' γ = 1, β = 0, running mean 0, running variance 1 (eval mode); float64;
* piecewise activations (ReLU family, which would zero gradients) become the identity, and max
  pooling (gradient only to the arg-max) becomes a sum over the same windows (same kernel, stride,
  padding, dilation and ``ceil_mode``), so every pixel in a window gets gradient.

With positive weights and linear ops the gradient at a pixel is a sum of positive path weights, so it
is non-zero exactly where some path reaches the chosen output. Use an input at least about twice the
field so it fits inside the image; otherwise the box is clipped by the image border.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from dlprimer._checks import is_int_like
from dlprimer.analysis._trace import op_name
from dlprimer.analysis.complexity import parse_input_shape
from dlprimer.analysis.shapes import pool_output_size

_IDENTITY_OPS = frozenset(
    "relu relu_ relu6 leaky_relu leaky_relu_ hardtanh hardtanh_ elu elu_ selu celu gelu silu mish threshold "
    "threshold_ prelu rrelu hardswish dropout dropout1d dropout2d dropout3d alpha_dropout".split()
)


class _StopForward(Exception):
    pass


def _as_tuple(value: Any, nd: int) -> tuple[int, ...]:
    if is_int_like(value):
        return (value,) * nd
    value = tuple(value)
    return value * nd if len(value) == 1 else value


def _window_sum(x: Tensor, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> Tensor:
    """Sum over max-pool windows (a depthwise all-ones conv with the same geometry and output size)."""
    nd = x.dim() - 2
    k = _as_tuple(kernel, nd)
    s = k if stride is None or stride == [] or stride == () else _as_tuple(stride, nd)
    p = _as_tuple(padding, nd)
    d = _as_tuple(dilation, nd)
    outs = [pool_output_size(x.shape[2 + a], k[a], s[a], p[a], d[a], ceil_mode) for a in range(nd)]
    pads: list[int] = []
    for axis in reversed(range(nd)):  # F.pad takes the last axis first
        span = d[axis] * (k[axis] - 1) + 1
        extra = max(0, (outs[axis] - 1) * s[axis] + span - (x.shape[2 + axis] + 2 * p[axis]))
        pads += [p[axis], p[axis] + extra]
    x = F.pad(x, pads)
    channels = x.shape[1]
    weight = torch.ones((channels, 1, *k), dtype=x.dtype, device=x.device)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    y = conv(x, weight, None, s, 0, d, channels)
    return y[(slice(None), slice(None), *(slice(0, o) for o in outs))]


class _Linearise(TorchFunctionMode):
    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        name = op_name(func)
        if name in _IDENTITY_OPS:
            return args[0] if args else kwargs["input"]
        for nd in (1, 2, 3):
            if name in (f"max_pool{nd}d", f"max_pool{nd}d_with_indices"):
                y = _window_sum(
                    args[0],
                    args[1] if len(args) > 1 else kwargs["kernel_size"],
                    kwargs.get("stride", args[2] if len(args) > 2 else None),
                    kwargs.get("padding", args[3] if len(args) > 3 else 0),
                    kwargs.get("dilation", args[4] if len(args) > 4 else 1),
                    bool(kwargs.get("ceil_mode", args[5] if len(args) > 5 else False)),
                )
                return (y, torch.zeros_like(y, dtype=torch.long)) if kwargs.get("return_indices") else y
            if name in (f"adaptive_max_pool{nd}d", f"adaptive_max_pool{nd}d_with_indices"):
                pool = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[nd]
                return pool(args[0], args[1] if len(args) > 1 else kwargs["output_size"])
        return func(*args, **kwargs)


def linearised_copy(model: nn.Module) -> nn.Module:
    """A float64 eval-mode deep copy with positive weights (see the module docstring)."""
    net = copy.deepcopy(model).to(dtype=torch.float64).eval()
    with torch.no_grad():
        for module in net.modules():
            for pname, p in module.named_parameters(recurse=False):
                if p.dim() >= 2:
                    p.fill_(1.0 / max(1, p[0].numel()))
                elif pname == "bias":
                    p.zero_()
                else:
                    p.fill_(1.0)
            for bname, b in module.named_buffers(recurse=False):
                if bname == "running_mean":
                    b.zero_()
                elif bname == "running_var":
                    b.fill_(1.0)
    return net


def gradient_receptive_field(
    model: nn.Module,
    layer: str,
    input_shape: Sequence[int] | str,
    position: Sequence[int] | None = None,
    call: int = -1,
) -> dict[str, Any]:
    """Measure the receptive field of ``layer`` (a name from ``named_modules()``) by back-propagation.

    ``input_shape`` is ``(C, *spatial)`` (batch 1); ``position`` the output position to probe (default:
    the centre, ``size // 2`` per axis). Returns ``{"rf": [extent per axis], "box": [(first, last)
    per axis], "position": [...], "output_shape": [...]}`` where the box is the inclusive range of input
    indices with non-zero gradient. ``call`` picks which call of a module that runs several times
    (a shared ReLU) to probe: ``-1`` (default) the last, which runs the whole forward pass; an index
    ``≥ 0`` stops the forward pass right after that call (cheaper for early layers).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        known = [n for n in modules if n][:10]
        raise ValueError(f"layer must be a module name from named_modules(), got {layer!r}; e.g. {known}")
    dims = parse_input_shape(input_shape)
    net = linearised_copy(model)
    target = dict(net.named_modules())[layer]
    captured: list[Tensor] = []

    if not is_int_like(call) or call < -1:
        raise ValueError(f"call must be -1 (last) or a call index >= 0, got {call!r}")

    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        captured.append(output if isinstance(output, Tensor) else output[0])
        if call >= 0 and len(captured) > call:
            raise _StopForward

    handle = target.register_forward_hook(hook)
    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    x = torch.ones((1, *dims), dtype=torch.float64, device=device, requires_grad=True)
    try:
        with _Linearise():
            net(x)
    except _StopForward:
        pass
    finally:
        handle.remove()
    if len(captured) <= max(call, 0):
        raise ValueError(f"layer {layer!r} ran {len(captured)} time(s) in the forward pass; call {call} asked")
    out = captured[call]
    nd = len(dims) - 1
    spatial = list(out.shape[-nd:])
    pos = [n // 2 for n in spatial] if position is None else list(position)
    if len(pos) != nd or any(not 0 <= p < n for p, n in zip(pos, spatial, strict=True)):
        raise ValueError(f"position must be {nd} indices inside the output {spatial}, got {position!r}")
    index = (0, slice(None), *pos) if out.dim() == nd + 2 else (0, *pos)
    (grad,) = torch.autograd.grad(out[index].sum(), x)
    support = grad[0].abs().sum(0) > 0  # [*spatial_in]
    box = []
    for axis in range(nd):
        other = tuple(a for a in range(nd) if a != axis)
        hits = support.any(dim=other) if other else support
        idx = torch.nonzero(hits).flatten()
        box.append((int(idx[0]), int(idx[-1])) if idx.numel() else (0, -1))
    return {
        "rf": [b - a + 1 for a, b in box],
        "box": box,
        "position": pos,
        "output_shape": list(out.shape),
    }


def analytic_box(rf: float, jump: float, start: float, position: int, size: int) -> tuple[int, int]:
    """The input index range ``[centre − (rf−1)/2, centre + (rf−1)/2]`` of one output, clipped to the image."""
    centre = start + position * jump
    first = centre - (rf - 1) / 2
    last = centre + (rf - 1) / 2
    return max(0, int(round(first))), min(size - 1, int(round(last)))
