"""Per-op counting rules: multiply-accumulates (MACs) and other element-wise operations.

Conventions (stated once, used everywhere; see :mod:`dlprimer.analysis.complexity`):

* **MACs** — multiply-accumulates of convolution, transposed convolution, linear and matrix-product ops:
  ``conv``: ``N·C_out·H_out·W_out · (C_in/groups)·k_h·k_w``; ``linear``: ``out.numel() · in_features``;
  ``matmul``/``bmm``/``baddbmm``/``mv``/``dot``: ``out.numel() · K``; transposed conv:
  ``in.numel() · (C_out/groups)·k_h·k_w``; two-operand ``einsum``: the product of all index sizes;
  attention (``scaled_dot_product_attention``, ``nn.MultiheadAttention``): its matrix products and
  projections (formulas at the counters).
* **other ops** — one per output element for bias adds, element-wise arithmetic and activations;
  batch norm 2 per element in eval (scale and shift after folding the statistics), 5 in training
  (mean, variance, normalise, scale, shift); layer/group/instance norm 5; softmax 3 (exp, sum,
  divide); max-pool ``k−1`` comparisons and avg-pool ``k`` (``k−1`` adds and a divide) per output, with
  ``k`` the window size (exact per-window sizes for adaptive pooling); dropout 1 per element in training,
  0 in eval; reductions (``sum``/``mean``) one per input element.
* Data movement and metadata (view, reshape, flatten, cat, indexing, ``.shape``…) is 0 and *known*.
* Anything else is **uncounted** and reported by name — never silently zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.analysis._trace import OpCall, flat_tensors
from dlprimer.analysis.shapes import adaptive_windows

# (macs, other_ops)
Counter = Callable[[OpCall], tuple[int, int] | None]


def arg(call: OpCall, index: int, name: str, default: Any = None) -> Any:
    """Argument ``index`` / ``name`` of a recorded call (positional first)."""
    if len(call.args) > index:
        return call.args[index]
    return call.kwargs.get(name, default)


def out_numel(call: OpCall) -> int:
    return sum(t.numel() for t in flat_tensors(call.output))


def _conv(call: OpCall) -> tuple[int, int]:
    weight: Tensor = arg(call, 1, "weight")
    bias = arg(call, 2, "bias")
    out: Tensor = call.output
    macs = out.numel() * weight.shape[1] * math.prod(weight.shape[2:])
    return macs, (out.numel() if bias is not None else 0)


def _conv_transpose(call: OpCall) -> tuple[int, int]:
    x: Tensor = arg(call, 0, "input")
    weight: Tensor = arg(call, 1, "weight")
    bias = arg(call, 2, "bias")
    macs = x.numel() * weight.shape[1] * math.prod(weight.shape[2:])
    return macs, (call.output.numel() if bias is not None else 0)


def _linear(call: OpCall) -> tuple[int, int]:
    weight: Tensor = arg(call, 1, "weight")
    bias = arg(call, 2, "bias")
    out: Tensor = call.output
    return out.numel() * weight.shape[-1], (out.numel() if bias is not None else 0)


def _matmul(call: OpCall) -> tuple[int, int]:
    a: Tensor = arg(call, 0, "input")
    return call.output.numel() * (a.shape[-1] if a.dim() else 1), 0


def _addmm(call: OpCall) -> tuple[int, int]:  # bias + a @ b
    a: Tensor = arg(call, 1, "mat1")
    return call.output.numel() * a.shape[-1], call.output.numel()


def _batched_addmm(call: OpCall) -> tuple[int, int]:  # baddbmm: input + b1 @ b2, [B, n, m] @ [B, m, p]
    b1: Tensor = arg(call, 1, "batch1")
    return call.output.numel() * b1.shape[-1], call.output.numel()


def _addbmm(call: OpCall) -> tuple[int, int]:  # input + Σ_b b1[b] @ b2[b] -> [n, p]
    b1: Tensor = arg(call, 1, "batch1")
    b2: Tensor = arg(call, 2, "batch2")
    return b1.numel() * b2.shape[-1], call.output.numel()


def _mv(call: OpCall) -> tuple[int, int]:  # [n, m] @ [m]
    return arg(call, 0, "input").numel(), 0


def _addmv(call: OpCall) -> tuple[int, int]:  # input + mat @ vec
    return arg(call, 1, "mat").numel(), call.output.numel()


def _dot(call: OpCall) -> tuple[int, int]:
    return arg(call, 0, "input").numel(), 0


def _einsum(call: OpCall) -> tuple[int, int] | None:
    """Two-operand ``einsum`` without ``...``: one MAC per combination of all distinct indices (what its
    batched-matmul decomposition computes). Other forms are left uncounted (reported by name)."""
    if not call.args or not isinstance(call.args[0], str):
        return None
    equation = call.args[0].replace(" ", "")
    operands = flat_tensors(call.args[1:])
    lhs = equation.split("->")[0].split(",")
    if len(operands) != 2 or len(lhs) != 2 or "." in equation:
        return None
    sizes: dict[str, int] = {}
    for letters, t in zip(lhs, operands, strict=True):
        if len(letters) != t.dim():
            return None
        for c, n in zip(letters, t.shape, strict=True):
            sizes[c] = max(sizes.get(c, 1), int(n))
    return math.prod(sizes.values()), 0


def _sdpa(call: OpCall) -> tuple[int, int]:
    """``softmax(Q Kᵀ/√E + mask) V``: ``Q Kᵀ`` has ``B·L·S·E`` MACs and ``(·) V`` ``B·L·S·Eᵥ`` (B = batch × heads of
    the output); softmax and scaling are other ops."""
    q: Tensor = arg(call, 0, "query")
    k: Tensor = arg(call, 1, "key")
    out: Tensor = call.output
    length, e_q, s = q.shape[-2], q.shape[-1], k.shape[-2]
    e_v = out.shape[-1]
    batch = out.numel() // max(1, length * e_v)
    scores = batch * length * s
    return scores * (e_q + e_v), 4 * scores  # scale, softmax (3)


def _multi_head_attention(call: OpCall) -> tuple[int, int]:
    """``F.multi_head_attention_forward`` (``nn.MultiheadAttention``): the q/k/v input projections, ``Q Kᵀ``,
    ``(·) V`` and the output projection. With query ``[L, N, E]``, key ``[S, N, E_k]``, value ``[S, N, E_v]``
    (``N`` absent when unbatched) and ``S' = S`` (+1 with ``bias_k``, +1 with ``add_zero_attn``):
    ``L·N·E² + S·N·E_k·E + S·N·E_v·E + 2·N·L·S'·E + L·N·E²`` MACs (equal to what FlopCounterMode counts on
    the decomposed ops)."""
    q: Tensor = arg(call, 0, "query")
    k: Tensor = arg(call, 1, "key")
    v: Tensor = arg(call, 2, "value")
    e = int(arg(call, 3, "embed_dim_to_check"))
    heads = int(arg(call, 4, "num_heads"))
    length, s = q.shape[0], k.shape[0]
    n = q.shape[1] if q.dim() == 3 else 1
    s_att = s + (1 if arg(call, 7, "bias_k") is not None else 0) + (1 if arg(call, 9, "add_zero_attn") else 0)
    proj = length * n * e * e + s * n * k.shape[-1] * e + s * n * v.shape[-1] * e
    attn = 2 * n * length * s_att * e
    out_proj = length * n * e * e
    other = 4 * n * heads * length * s_att + (length + 2 * s + length) * n * e  # scale+softmax, bias adds
    return proj + attn + out_proj, other


def _per_element(factor: int) -> Counter:
    def count(call: OpCall) -> tuple[int, int]:
        return 0, factor * out_numel(call)

    return count


def _per_input_element(call: OpCall) -> tuple[int, int]:
    x = arg(call, 0, "input")
    return 0, (x.numel() if isinstance(x, Tensor) else 0)


def _batch_norm(call: OpCall) -> tuple[int, int]:
    training = bool(arg(call, 5, "training", False))
    return 0, (5 if training else 2) * out_numel(call)


def _dropout(call: OpCall) -> tuple[int, int]:
    training = bool(arg(call, 2, "training", True))
    p = float(arg(call, 1, "p", 0.5))
    return 0, (out_numel(call) if training and p > 0 else 0)


def _window(call: OpCall, nd: int) -> int:
    kernel = arg(call, 1, "kernel_size")
    k = (kernel,) * nd if is_int_like(kernel) else tuple(kernel)
    return math.prod(k)


def _max_pool(nd: int) -> Counter:
    def count(call: OpCall) -> tuple[int, int]:
        out = flat_tensors(call.output)[0]
        return 0, (_window(call, nd) - 1) * out.numel()

    return count


def _avg_pool(nd: int) -> Counter:
    def count(call: OpCall) -> tuple[int, int]:
        return 0, _window(call, nd) * call.output.numel()

    return count


def _adaptive(nd: int, is_max: bool) -> Counter:
    def count(call: OpCall) -> tuple[int, int]:
        x: Tensor = arg(call, 0, "input")
        out = flat_tensors(call.output)[0]
        spatial_in = x.shape[-nd:]
        spatial_out = out.shape[-nd:]
        window_total = 1  # Σ over output positions of the window size, per (N, C)
        for n, m in zip(spatial_in, spatial_out, strict=True):
            window_total *= sum(b - a for a, b in adaptive_windows(int(n), int(m)))
        planes = out.numel() // max(1, math.prod(spatial_out))
        ops = window_total * planes
        return 0, ops - (out.numel() if is_max else 0)

    return count


COUNTERS: dict[str, Counter] = {
    "conv1d": _conv,
    "conv2d": _conv,
    "conv3d": _conv,
    "conv_transpose1d": _conv_transpose,
    "conv_transpose2d": _conv_transpose,
    "conv_transpose3d": _conv_transpose,
    "linear": _linear,
    "matmul": _matmul,
    "mm": _matmul,
    "bmm": _matmul,
    "addmm": _addmm,
    "baddbmm": _batched_addmm,
    "addbmm": _addbmm,
    "mv": _mv,
    "addmv": _addmv,
    "dot": _dot,
    "vdot": _dot,
    "einsum": _einsum,
    "scaled_dot_product_attention": _sdpa,
    "multi_head_attention_forward": _multi_head_attention,
    "batch_norm": _batch_norm,
    "layer_norm": _per_element(5),
    "group_norm": _per_element(5),
    "instance_norm": _per_element(5),
    "softmax": _per_element(3),
    "log_softmax": _per_element(3),
    "dropout": _dropout,
    "dropout1d": _dropout,
    "dropout2d": _dropout,
    "dropout3d": _dropout,
    "alpha_dropout": _dropout,
    "feature_alpha_dropout": _dropout,
    "sum": _per_input_element,
    "mean": _per_input_element,
}
for _nd in (1, 2, 3):
    COUNTERS[f"max_pool{_nd}d"] = _max_pool(_nd)
    COUNTERS[f"max_pool{_nd}d_with_indices"] = _max_pool(_nd)
    COUNTERS[f"avg_pool{_nd}d"] = _avg_pool(_nd)
    COUNTERS[f"adaptive_avg_pool{_nd}d"] = _adaptive(_nd, is_max=False)
    COUNTERS[f"adaptive_max_pool{_nd}d"] = _adaptive(_nd, is_max=True)
    COUNTERS[f"adaptive_max_pool{_nd}d_with_indices"] = _adaptive(_nd, is_max=True)

ELEMENTWISE = (
    "relu relu_ relu6 leaky_relu leaky_relu_ hardtanh hardtanh_ elu elu_ selu celu gelu silu mish sigmoid "
    "tanh softplus softsign hardswish hardsigmoid prelu rrelu threshold threshold_ clamp clamp_ clip abs exp "
    "log sqrt rsqrt neg reciprocal square sigmoid_ tanh_ "
    "add add_ iadd radd sub sub_ isub rsub mul mul_ imul rmul div div_ truediv itruediv rtruediv pow "
    "maximum minimum where"
).split()
for _name in ELEMENTWISE:
    COUNTERS[_name] = _per_element(1)

ZERO_COST = frozenset(
    (
        "size dim shape dtype device ndim numel is_floating_point is_complex requires_grad layout is_cuda "
        "is_sparse data grad_fn names view view_as reshape reshape_as flatten unflatten unsqueeze squeeze "
        "permute transpose t contiguous getitem cat concat concatenate stack split chunk unbind narrow select "
        "expand expand_as repeat detach clone to type float double half cpu cuda identity pad constant_pad_nd "
        "empty empty_like zeros zeros_like ones ones_like full full_like tensor arange len iter get_device "
        "channel_shuffle pixel_shuffle pixel_unshuffle movedim swapaxes unfold split_with_sizes is_nested "
        "rand rand_like randn randn_like randint randint_like randperm new_zeros new_ones new_empty new_full "
        "new_tensor"
    ).split()
)


def count_call(call: OpCall) -> tuple[int, int] | None:
    """``(macs, other_ops)`` of one call; ``None`` when no rule knows the op (reported as uncounted)."""
    rule = COUNTERS.get(call.op)
    if rule is not None:
        return rule(call)  # a rule may still return None (an einsum form it cannot count)
    if call.op in ZERO_COST:
        return 0, 0
    return None
