"""Receptive field, jump and start of every layer of any model, from its traced operation graph.

Every tensor derived from the input carries a :class:`Field` per spatial axis (``rf`` size in input
pixels, ``jump`` between neighbouring outputs, ``start`` = centre of output position 0 in 0-based input
coordinates; the single-layer recursion is in :mod:`dlprimer.analysis.shapes`). One traced forward
pass (see ``_trace``) propagates it op by op, which handles any wiring, not just plain chains:

* conv / max-pool / avg-pool (any dilation, padding, ``ceil_mode``; ``padding="same"``) — the recursion;
  ``F.pad`` and basic slicing (``x[..., 1:, ::2]``) shift ``start`` (and scale ``jump``); adaptive
  pooling uses its largest window and mean stride (exact for
  divisible sizes, identity when the size is unchanged).
* ops whose output keeps the input's spatial size (BN, activations, residual ``+``, ``torch.cat`` of
  Inception branches or dense layers …) take the **union** of their inputs' fields: the largest field
  when the paths are centred alike. ``aligned`` is ``False`` when the paths' jumps or centres differ
  (the union is then still reported).
* ops that mix all positions (``flatten``, ``view``/``reshape`` to another spatial size, ``linear``,
  reductions) make the field global: everything the last spatial map saw.
* anything else that changes the spatial size (upsampling, transposed conv …) makes the field unknown
  (``rf = None``) and is listed in ``unknown``, never guessed.

Rows are the complexity table's rows (:mod:`dlprimer.analysis.complexity`); a module called more than
once reports the call with the largest field (a ResNet block's shared ReLU: the block output).
The gradient-based check is :func:`dlprimer.analysis.rf_gradient.gradient_receptive_field`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from dlprimer._checks import is_int_like
from dlprimer.analysis._counts import arg
from dlprimer.analysis._trace import ROOT, ModuleCall, OpCall, flat_tensors, run_trace
from dlprimer.analysis.complexity import ComplexityTable, build_table, make_input, parse_input_shape
from dlprimer.analysis.shapes import adaptive_windows, effective_kernel


@dataclass(frozen=True)
class Field:
    """Receptive field of a tensor, per spatial axis; ``spatial`` is ``None`` once positions are mixed."""

    rf: tuple[float, ...]
    jump: tuple[float, ...]
    start: tuple[float, ...]
    spatial: tuple[int, ...] | None
    aligned: bool = True
    known: bool = True

    def collapse(self) -> Field:
        """The global field: the union over every position of the current spatial map."""
        if self.spatial is None or not self.known:
            return self
        s = self.spatial
        return Field(
            rf=tuple(r + (n - 1) * j for r, n, j in zip(self.rf, s, self.jump, strict=True)),
            jump=tuple(n * j for n, j in zip(s, self.jump, strict=True)),
            start=tuple(st + (n - 1) / 2 * j for st, n, j in zip(self.start, s, self.jump, strict=True)),
            spatial=None,
            aligned=self.aligned,
        )


UNKNOWN = Field(rf=(), jump=(), start=(), spatial=None, aligned=True, known=False)


def _tuple(value: Any, nd: int, name: str) -> tuple[int, ...]:
    if is_int_like(value):
        return (value,) * nd
    value = tuple(value)
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise ValueError(f"{name} must have {nd} entries, got {value!r}")
    return value


def _window(
    field: Field,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[float, ...],
    dilation: tuple[int, ...],
    out: Tensor,
) -> Field:
    nd = len(kernel)
    rf, jump, start = [], [], []
    for d in range(nd):
        span = effective_kernel(kernel[d], dilation[d])
        rf.append(field.rf[d] + (span - 1) * field.jump[d])
        jump.append(field.jump[d] * stride[d])
        start.append(field.start[d] + ((span - 1) / 2 - padding[d]) * field.jump[d])
    return Field(tuple(rf), tuple(jump), tuple(start), tuple(out.shape[-nd:]), field.aligned)


def _conv_field(call: OpCall, field: Field) -> Field:
    weight: Tensor = arg(call, 1, "weight")
    nd = weight.dim() - 2
    kernel = tuple(weight.shape[2:])
    stride = _tuple(arg(call, 3, "stride", 1), nd, "stride")
    dilation = _tuple(arg(call, 5, "dilation", 1), nd, "dilation")
    padding_arg = arg(call, 4, "padding", 0)
    if padding_arg == "valid":
        padding: tuple[float, ...] = (0,) * nd
    elif padding_arg == "same":
        padding = tuple((dil * (k - 1)) // 2 for k, dil in zip(kernel, dilation, strict=True))
    else:
        padding = _tuple(padding_arg, nd, "padding")
    return _window(field, kernel, stride, padding, dilation, call.output)


def _pool_field(call: OpCall, field: Field, nd: int, has_dilation: bool) -> Field:
    kernel = _tuple(arg(call, 1, "kernel_size"), nd, "kernel_size")
    stride_arg = arg(call, 2, "stride", None)
    stride = kernel if stride_arg is None or stride_arg == [] or stride_arg == () else _tuple(stride_arg, nd, "s")
    padding = _tuple(arg(call, 3, "padding", 0), nd, "padding")
    dilation = _tuple(arg(call, 4, "dilation", 1), nd, "dilation") if has_dilation else (1,) * nd
    out = flat_tensors(call.output)[0]
    return _window(field, kernel, stride, padding, dilation, out)


def _adaptive_field(call: OpCall, field: Field, nd: int) -> Field:
    out = flat_tensors(call.output)[0]
    x: Tensor = arg(call, 0, "input")
    rf, jump, start = [], [], []
    for d in range(nd):
        n, m = int(x.shape[-nd + d]), int(out.shape[-nd + d])
        windows = adaptive_windows(n, m)
        kmax = max(b - a for a, b in windows)
        first = windows[0][1] - windows[0][0]
        rf.append(field.rf[d] + (kmax - 1) * field.jump[d])
        jump.append(field.jump[d] * n / m)
        start.append(field.start[d] + (first - 1) / 2 * field.jump[d])
    return Field(tuple(rf), tuple(jump), tuple(start), tuple(out.shape[-nd:]), field.aligned)


def _pad_field(call: OpCall, field: Field) -> Field:
    pad = list(arg(call, 1, "pad"))
    nd = len(field.rf)
    start = list(field.start)
    for i in range(len(pad) // 2):  # pairs from the last axis backwards
        d = nd - 1 - i
        if d >= 0:
            start[d] -= pad[2 * i] * field.jump[d]
    out = call.output
    return Field(field.rf, field.jump, tuple(start), tuple(out.shape[-nd:]), field.aligned)


def _getitem_field(call: OpCall, field: Field) -> Field | None:
    """Basic slicing ``x[..., a:b:c, d:e]`` of spatial axes shifts ``start`` and scales ``jump``.

    Returns ``None`` for indexing it cannot follow (``None``/tensor indices, an int on a spatial axis).
    """
    x: Tensor = call.args[0]
    index = call.args[1] if len(call.args) > 1 else None
    items = list(index) if isinstance(index, tuple) else [index]
    if any(it is None or isinstance(it, Tensor) or isinstance(it, list) for it in items):
        return None
    if sum(it is Ellipsis for it in items) > 1:
        return None
    if Ellipsis in items:
        pos = items.index(Ellipsis)
        items = items[:pos] + [slice(None)] * (x.dim() - len(items) + 1) + items[pos + 1 :]
    items += [slice(None)] * (x.dim() - len(items))
    nd = len(field.rf)
    start, jump = list(field.start), list(field.jump)
    for d in range(nd):
        it = items[x.dim() - nd + d]
        if not isinstance(it, slice):
            return None
        first, _, step = it.indices(int(x.shape[x.dim() - nd + d]))
        start[d] += first * field.jump[d]
        jump[d] *= step
    out = call.output
    return Field(field.rf, tuple(jump), tuple(start), tuple(out.shape[-nd:]), field.aligned)


def union(fields: Sequence[Field], spatial: tuple[int, ...] | None) -> Field:
    """Union of several paths' fields (the largest field when aligned); ``spatial`` of the result."""
    if any(not f.known for f in fields):
        return UNKNOWN
    if spatial is None or any(f.spatial is None for f in fields):
        fields = [f.collapse() for f in fields]
        spatial = None
    same_grid = [f for f in fields if f.spatial is None or f.spatial == spatial]
    nd = len(fields[0].rf)
    rf, jump, start = [], [], []
    aligned = all(f.aligned for f in fields)
    for d in range(nd):
        left = min(f.start[d] - (f.rf[d] - 1) / 2 for f in fields)
        right = max(f.start[d] + (f.rf[d] - 1) / 2 for f in fields)
        rf.append(right - left + 1)
        start.append((left + right) / 2)
        grid = same_grid or fields
        jump.append(max(f.jump[d] for f in grid))
        if spatial is not None and len({(f.jump[d], f.start[d]) for f in grid}) > 1:
            aligned = False
    return Field(tuple(rf), tuple(jump), tuple(start), spatial, aligned)


_COLLAPSING = frozenset(
    "flatten view reshape linear matmul mm addmm bmm mean sum amax amin max min getitem squeeze "
    "unsqueeze view_as reshape_as".split()
)


class _Tracker:
    """Propagates :class:`Field` through the trace (``on_op``) and snapshots module outputs."""

    def __init__(self, x: Tensor) -> None:
        nd = x.dim() - 2
        self.fields: dict[int, Field] = {id(x): Field((1.0,) * nd, (1.0,) * nd, (0.0,) * nd, tuple(x.shape[2:]))}
        self.op_fields: dict[int, Field] = {}
        self.module_fields: list[tuple[str, Field]] = []
        self.unknown: list[str] = []

    def on_op(self, call: OpCall) -> None:
        ins = [self.fields[id(t)] for t in flat_tensors(call.args) + flat_tensors(call.kwargs) if id(t) in self.fields]
        outs = flat_tensors(call.output)
        if not ins or not outs:
            return
        field = self._rule(call, ins, outs)
        for t in outs:
            self.fields[id(t)] = field
        self.op_fields[call.index] = field

    def _rule(self, call: OpCall, ins: list[Field], outs: list[Tensor]) -> Field:
        op = call.op
        first = self.fields.get(id(arg(call, 0, "input")), ins[0])
        if not all(f.known for f in ins):
            return UNKNOWN
        if first.spatial is not None:
            nd = len(first.rf)
            if op in ("conv1d", "conv2d", "conv3d"):
                return _conv_field(call, first)
            for k in (nd,):
                if op in (f"max_pool{k}d", f"max_pool{k}d_with_indices"):
                    return _pool_field(call, first, k, has_dilation=True)
                if op == f"avg_pool{k}d":
                    return _pool_field(call, first, k, has_dilation=False)
                if op in (f"adaptive_avg_pool{k}d", f"adaptive_max_pool{k}d", f"adaptive_max_pool{k}d_with_indices"):
                    return _adaptive_field(call, first, k)
            if op in ("pad", "constant_pad_nd"):
                return _pad_field(call, first)
            if op == "getitem" and len(ins) == 1:
                sliced = _getitem_field(call, first)
                if sliced is not None:
                    return sliced
            out = outs[0]
            if out.dim() >= nd and tuple(out.shape[-nd:]) == first.spatial:
                return union(ins, first.spatial)
            if op in _COLLAPSING:
                return union(ins, None)
            label = f"{call.owner or ROOT}:{op}"
            if label not in self.unknown:
                self.unknown.append(label)
            return UNKNOWN
        return union(ins, None)

    def on_module(self, call: ModuleCall) -> None:
        outs = flat_tensors(call.output)
        if outs and id(outs[0]) in self.fields:
            self.module_fields.append((call.name, self.fields[id(outs[0])]))


def _scalar(values: tuple[float, ...]) -> Any:
    vals = [int(v) if float(v).is_integer() else round(float(v), 6) for v in values]
    return vals[0] if len(set(vals)) == 1 else vals


def _trace_fields(model: nn.Module, input_shape: Sequence[int] | str, batch_size: int) -> tuple[Any, _Tracker]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = make_input(model, input_shape, batch_size)
    if x.dim() < 3:
        raise ValueError(f"input shape needs channels and at least one spatial axis, got {tuple(x.shape[1:])}")
    tracker = _Tracker(x)
    trace = run_trace(model, x, on_op=tracker.on_op, on_module=tracker.on_module)
    return trace, tracker


def _best(fields: list[Field]) -> dict[str, Any] | None:
    known = [f for f in fields if f.known]
    if not known:
        return None
    best = max(known, key=lambda f: f.rf)
    return {
        "rf": _scalar(best.rf),
        "jump": _scalar(best.jump),
        "start": _scalar(best.start),
        "aligned": all(f.aligned for f in known),
    }


def profile_with_receptive_fields(
    model: nn.Module, input_shape: Sequence[int] | str, batch_size: int = 1
) -> tuple[ComplexityTable, list[str]]:
    """The complexity table with ``rf``, ``jump``, ``start`` filled per row, and the unknown-op list.

    Values are scalars when equal on every spatial axis, else one entry per axis; ``None`` for rows
    whose output does not depend on the input. Runs one eval-mode forward pass on the model's device.
    """
    trace, tracker = _trace_fields(model, input_shape, batch_size)
    table = build_table(model, trace, parse_input_shape(input_shape))
    per_row: dict[str, list[Field]] = {}
    for name, field in tracker.module_fields:
        if trace.leaf.get(name):
            per_row.setdefault(name or ROOT, []).append(field)
    for call in trace.ops:
        if not call.owner_is_leaf and call.index in tracker.op_fields:
            per_row.setdefault(f"{call.owner or ROOT}:{call.op}", []).append(tracker.op_fields[call.index])
    for row in table.layers:
        best = _best(per_row.get(row.name, []))
        if best is not None:
            row.rf, row.jump, row.start, row.aligned = best["rf"], best["jump"], best["start"], best["aligned"]
    table.rf_unknown = list(tracker.unknown)
    return table, tracker.unknown


def receptive_fields(
    model: nn.Module, input_shape: Sequence[int] | str, batch_size: int = 1
) -> dict[str, dict[str, Any]]:
    """``{module name: {"rf", "jump", "start", "aligned"}}`` for every module that ran, containers
    included (``layer2`` of a ResNet, ``features.denseblock1`` …; ``"(root)"`` for the model itself).

    A module called several times reports its call with the largest field. Modules whose output does
    not depend on the input, or whose field is unknown, are absent.
    """
    _, tracker = _trace_fields(model, input_shape, batch_size)
    per_module: dict[str, list[Field]] = {}
    for name, field in tracker.module_fields:
        per_module.setdefault(name or ROOT, []).append(field)
    out = {}
    for name, fields in per_module.items():
        best = _best(fields)
        if best is not None:
            out[name] = best
    return out
