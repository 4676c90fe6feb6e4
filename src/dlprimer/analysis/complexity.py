"""Model complexity: a per-layer table of parameters, MACs, FLOPs, other ops and activation memory.

The notes ("神经网络模型复杂度分析") define FLOPs (floating-point operations, time complexity), FLOPS
(operations per second, hardware speed) and MACCs (multiply-accumulates) and give per-layer formulas;
they are the functions ``*_notes`` below. This module's conventions:

* ``macs`` counts the multiply-accumulates of convolution, linear and matrix-product ops. This is
  what torchvision's "GFLOPS" column reports (it is really GMACs) and what most papers call FLOPs.
* ``flops = 2·macs`` (one multiply and one add per MAC). For a convolution this equals the notes'
  "with bias" count ``2·Cᵢ·K²·H·W·Cₒ``; the notes' "without bias" count is ``(2·Cᵢ·K² − 1)·H·W·Cₒ``
  because a dot product of ``n`` terms needs only ``n − 1`` adds.
* ``other_ops`` counts element-wise work separately: bias adds, BN, activations, pooling, residual
  adds (rules in :mod:`dlprimer.analysis._counts`).
* ``params`` counts trainable-or-not parameters (``nn.Parameter``), not buffers: BN has ``2·C``
  parameters (γ, β) — the notes' formula — plus ``2·C`` running statistics that are buffers.
* ``activation_bytes`` is the size of each new output tensor (in-place outputs count 0).
* Ops no rule knows are listed in ``uncounted`` (as ``layer:op``) — never silently counted as zero.

Rows: one per called leaf module (name from ``named_modules()``, e.g. ``features.4``), one per
``module:op`` for functional ops a container runs itself (``layer1.0:add`` is a ResNet shortcut,
``(root):flatten`` an op in the model's own ``forward``) when they cost something, and one per
module with parameters that never ran (``calls = 0``, e.g. GoogLeNet's aux heads in eval mode), so
``Σ row.params == total params`` (a parameter shared by several modules -- tied weights -- is counted
in the first row that holds it). A module called several times (a shared ReLU) has one row with
``calls > 1`` and the output shape of its first call.

>>> import torch; from torch import nn
>>> table = profile(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), (3, 10, 10))
>>> table.total.macs == 8 * 8 * 8 * 3 * 3 * 3
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from dlprimer._checks import is_int_like
from dlprimer.analysis._counts import count_call
from dlprimer.analysis._trace import ROOT, OpCall, Trace, flat_tensors, model_device, model_dtype, run_trace


# --- the notes' per-layer formulas ------------------------------------------------------------------
def conv_macs_notes(c_in: int, kernel: int, h_out: int, w_out: int, c_out: int, groups: int = 1) -> int:
    """MACCs of a k×k conv: ``(Cᵢ/g · K²) · H · W · Cₒ`` (the notes' formula; ``g`` = groups)."""
    return (c_in // groups) * kernel * kernel * h_out * w_out * c_out


def conv_flops_notes(
    c_in: int, kernel: int, h_out: int, w_out: int, c_out: int, bias: bool = True, groups: int = 1
) -> int:
    """FLOPs of a k×k conv: ``(2·Cᵢ·K² − 1)·H·W·Cₒ`` without bias, ``2·Cᵢ·K²·H·W·Cₒ`` with bias."""
    per_output = 2 * (c_in // groups) * kernel * kernel - (0 if bias else 1)
    return per_output * h_out * w_out * c_out


def linear_flops_notes(in_features: int, out_features: int, bias: bool = True) -> int:
    """FLOPs of a fully connected layer: ``(2·I − 1)·O`` without bias, ``2·I·O`` with bias."""
    return (2 * in_features - (0 if bias else 1)) * out_features


def conv_params_notes(c_in: int, kernel: int, c_out: int, bias: bool = True, groups: int = 1) -> int:
    """Parameters of a k×k conv: ``Cᵢ/g · K² · Cₒ + Cₒ`` (the bias term only with ``bias``)."""
    return (c_in // groups) * kernel * kernel * c_out + (c_out if bias else 0)


def bn_params_notes(channels: int) -> int:
    """Parameters of batch norm: ``2·C`` (γ and β; running mean/var are buffers, not parameters)."""
    return 2 * channels


def linear_params_notes(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``Tᵢ·Tₒ + Tₒ``."""
    return in_features * out_features + (out_features if bias else 0)


# --- the table ---------------------------------------------------------------------------------------
@dataclass
class LayerStats:
    """One row of the table. Units: counts of operations; ``activation_bytes`` in bytes."""

    name: str
    type: str
    output_shape: list[int] | None
    params: int = 0
    macs: int = 0
    flops: int = 0
    other_ops: int = 0
    activation_bytes: int = 0
    calls: int = 0
    uncounted: list[str] = field(default_factory=list)
    rf: Any = None
    jump: Any = None
    start: Any = None
    aligned: bool | None = None  # receptive field: False when merged paths are misaligned

    def as_dict(self, with_rf: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_rf:
            for key in ("rf", "jump", "start", "aligned"):
                d.pop(key)
        return d


@dataclass
class Totals:
    """Whole-model totals; ``params`` counts every distinct parameter once."""

    params: int
    macs: int
    flops: int
    other_ops: int
    activation_bytes: int
    input_shape: list[int]
    uncounted: list[str]


#: the unit of each count, written into ``to_dict()["total"]["units"]``
UNITS = {
    "params": "count",
    "macs": "multiply-accumulates",
    "flops": "floating-point operations (2·MACs)",
    "other_ops": "element-wise operations",
    "activation_bytes": "bytes",
}


@dataclass
class ComplexityTable:
    """Per-layer rows in execution order and the totals.

    ``rf_unknown`` is filled by :func:`dlprimer.analysis.receptive_field.profile_with_receptive_fields`: the
    ops after which the receptive field is unknown.
    """

    layers: list[LayerStats]
    total: Totals
    rf_unknown: list[str] | None = None

    def to_dict(self, with_rf: bool = False) -> dict[str, Any]:
        """``{"layers": [...], "total": {..., "units": {...}}}`` — exactly what ``dlprimer profile --json``
        writes (``--rf``: ``with_rf=True``, which adds ``rf``/``jump``/``start``/``aligned`` per layer and
        ``total["rf_unknown"]``; ``--speed`` adds a ``"speed"`` key, :meth:`SpeedReport.to_dict`)."""
        total = {**asdict(self.total), "units": dict(UNITS)}
        if with_rf:
            total["rf_unknown"] = list(self.rf_unknown or [])
        return {"layers": [r.as_dict(with_rf) for r in self.layers], "total": total}

    def row(self, name: str) -> LayerStats:
        """The row called ``name`` (``KeyError`` listing a few names when absent)."""
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; rows include {[r.name for r in self.layers[:8]]}")


def parse_input_shape(input_shape: Sequence[int] | str) -> tuple[int, ...]:
    """``(C, H, W)`` from a sequence or a string like ``"3x224x224"``; positive ints only."""
    if isinstance(input_shape, str):
        parts = input_shape.lower().replace("×", "x").split("x")
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"input shape must look like 3x224x224, got {input_shape!r}") from None
    else:
        dims = tuple(input_shape)
    if len(dims) < 1 or any(not is_int_like(d) or d < 1 for d in dims):
        raise ValueError(f"input shape must be positive ints like (3, 224, 224), got {input_shape!r}")
    return dims


def _new_bytes(call_inputs: list[Tensor], output: Any) -> int:
    ids = {id(t) for t in call_inputs}
    return sum(t.numel() * t.element_size() for t in flat_tensors(output) if id(t) not in ids)


def _call_inputs(call: OpCall) -> list[Tensor]:
    return flat_tensors(call.args) + flat_tensors(call.kwargs)


def _row_key(call: OpCall) -> str | None:
    """The row an op belongs to: its leaf module, else ``module:op`` (``None`` for the root leaf)."""
    if call.owner_is_leaf:
        return call.owner or ROOT
    return f"{call.owner or ROOT}:{call.op}"


def build_table(model: nn.Module, trace: Trace, input_shape: Sequence[int]) -> ComplexityTable:
    """Turn a trace into a :class:`ComplexityTable` (see the module docstring for the row rules)."""
    rows: dict[str, LayerStats] = {}
    seen: set[int] = set()  # parameters already in a row: a shared (tied) parameter counts once

    def fresh(params: Any) -> int:
        n = 0
        for p in params:
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
        return n

    # 1. leaf-module rows, in order of first call
    order: dict[str, int] = {}
    for mc in sorted((m for m in trace.module_calls if trace.leaf.get(m.name)), key=lambda m: m.first_op):
        key = mc.name or ROOT
        row = rows.get(key)
        if row is None:
            module = trace.modules[mc.name]
            outs = flat_tensors(mc.output)
            row = LayerStats(
                name=key,
                type=type(module).__name__,
                output_shape=list(outs[0].shape) if outs else None,
                params=fresh(module.parameters()),
            )
            rows[key] = row
            order[key] = mc.first_op
        row.calls += 1

    # 2. count every op into its row
    uncounted: list[str] = []
    for call in trace.ops:
        key = _row_key(call)
        counted = count_call(call)
        if key not in rows:
            if counted == (0, 0):
                continue  # free data movement in a container's forward: known, no row
            owner = trace.modules.get(call.owner, model)
            outs = flat_tensors(call.output)
            rows[key] = LayerStats(
                name=key,
                type=f"{call.op} (in {type(owner).__name__})",
                output_shape=list(outs[0].shape) if outs else None,
            )
            order[key] = call.index
        row = rows[key]
        if not call.owner_is_leaf:
            row.calls += 1
        if _is_producer(call):
            row.activation_bytes += _new_bytes(_call_inputs(call), call.output)
        if counted is None:
            label = key if not call.owner_is_leaf else f"{key}:{call.op}"
            if label not in uncounted:
                row.uncounted.append(label)
                uncounted.append(label)
            continue
        row.macs += counted[0]
        row.other_ops += counted[1]

    # 3. parameters of leaf modules that never ran, and parameters containers hold directly
    calls_of: dict[str, int] = {}
    for mc in trace.module_calls:
        calls_of[mc.name] = calls_of.get(mc.name, 0) + 1
    for name, module in model.named_modules():
        key = name or ROOT
        if trace.leaf.get(name):
            if key in rows:
                continue
            n_params = fresh(module.parameters())
        else:
            n_params = fresh(module.parameters(recurse=False))
        if n_params == 0:
            continue
        rows[key] = LayerStats(
            name=key, type=type(module).__name__, output_shape=None, params=n_params, calls=calls_of.get(name, 0)
        )
        order[key] = len(trace.ops) + len(order)

    layers = sorted(rows.values(), key=lambda r: order[r.name])
    for r in layers:
        r.flops = 2 * r.macs
    total = Totals(
        params=sum(p.numel() for p in model.parameters()),
        macs=sum(r.macs for r in layers),
        flops=2 * sum(r.macs for r in layers),
        other_ops=sum(r.other_ops for r in layers),
        activation_bytes=sum(r.activation_bytes for r in layers),
        input_shape=list(input_shape),
        uncounted=uncounted,
    )
    return ComplexityTable(layers=layers, total=total)


def _is_producer(call: OpCall) -> bool:
    """Ops whose output is a new activation (not metadata, not a view)."""
    return call.op not in _VIEWS


_VIEWS = frozenset(
    "size dim shape dtype device ndim numel view view_as reshape flatten unflatten unsqueeze squeeze permute "
    "transpose t getitem expand expand_as detach narrow select split chunk unbind movedim swapaxes "
    "requires_grad is_floating_point layout data grad_fn names is_cuda get_device".split()
)


def make_input(model: nn.Module, input_shape: Sequence[int] | str, batch_size: int = 1) -> Tensor:
    """A zero tensor ``[batch_size, *input_shape]`` on the model's device and dtype (meta stays meta)."""
    dims = parse_input_shape(input_shape)
    if not is_int_like(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return torch.zeros((batch_size, *dims), device=model_device(model), dtype=model_dtype(model))


def profile(
    model: nn.Module, input_shape: Sequence[int] | str, batch_size: int = 1, train: bool = False
) -> ComplexityTable:
    """Per-layer complexity of ``model`` on one input ``[batch_size, *input_shape]``.

    Runs one forward pass (eval mode unless ``train``; the mode is restored) on the model's device;
    build the model under ``torch.device("meta")`` to get the counts without any arithmetic.
    Totals scale linearly with ``batch_size``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = make_input(model, input_shape, batch_size)
    trace = run_trace(model, x, train=train)
    return build_table(model, trace, parse_input_shape(input_shape))
