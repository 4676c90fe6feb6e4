"""Primitive differentiable operations behind Tensor's operators: elementwise arithmetic, ``exp``/``log``/
``abs``, ``matmul``, reductions (``sum``/``mean``/``max``), reshape/permute, indexing and concatenation.

Each class is a :class:`~dlprimer.scratch.autograd.Function` whose backward (the local derivative times the
incoming gradient, un-broadcast to the input's shape) sits right under its forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.scratch.autograd import Context, Function, Tensor, as_tensor, unbroadcast


# ==================================================================== elementwise primitives
class Add(Function):
    """``z = a + b`` (broadcasting). ``∂z/∂a = ∂z/∂b = 1``: the gradient passes through, un-broadcast."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(grad, sb)


class Sub(Function):
    """``z = a − b``. ``∂z/∂a = 1``, ``∂z/∂b = −1``."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(-grad, sb)


class Mul(Function):
    """``z = a · b``. ``∂z/∂a = b``, ``∂z/∂b = a``."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        a, b = ctx.saved
        ga = unbroadcast(grad * b, np.shape(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * a, np.shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """``z = a / b``. ``∂z/∂a = 1/b``, ``∂z/∂b = −a/b²``."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
        ctx.save_for_backward(a, b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        a, b = ctx.saved
        ga = unbroadcast(grad / b, np.shape(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad * a / (b * b), np.shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """``z = −a``. ``∂z/∂a = −1``."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any]) -> NDArray[Any]:
        return np.negative(a)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return -grad


class Pow(Function):
    """``z = a^p`` for a constant exponent ``p``. ``∂z/∂a = p · a^(p−1)``; for ``p = 0`` (a constant 1)
    the gradient is 0 everywhere, also at ``a = 0`` where ``0 · 0^(−1)`` would be NaN (torch's rule)."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], exponent: float) -> NDArray[Any]:
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        return np.power(a, np.asarray(exponent, dtype=a.dtype))

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        (a,) = ctx.saved
        p = ctx.exponent
        if p == 0.0:
            return np.zeros_like(grad)
        if p == 2.0:
            return grad * 2.0 * a
        return grad * p * np.power(a, np.asarray(p - 1.0, dtype=a.dtype))


class PowTensor(Function):
    """``z = a^b`` with both tensors. ``∂z/∂a = b · a^(b−1)``, ``∂z/∂b = a^b · ln a``.

    As torch (``pow_backward_self`` / ``pow_backward_exponent``): ``∂z/∂a = 0`` where ``b = 0``, and
    ``∂z/∂b = 0`` where ``a = 0`` and ``b ≥ 0`` (the limit of ``a^b ln a``; the formula gives ``0 · −∞``).
    """

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        a, b, out = ctx.saved
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                ga = unbroadcast(np.where(b == 0, 0.0, grad * b * np.power(a, b - 1)), np.shape(a))
            if ctx.needs_input_grad[1]:
                gb = unbroadcast(np.where((a == 0) & (b >= 0), 0.0, grad * out * np.log(a)), np.shape(b))
        return ga, gb


class Exp(Function):
    """``z = eᵃ``. ``∂z/∂a = eᵃ = z``."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any]) -> NDArray[Any]:
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return grad * ctx.saved[0]


class Log(Function):
    """``z = ln a``. ``∂z/∂a = 1/a``."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any]) -> NDArray[Any]:
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return grad / ctx.saved[0]


class Abs(Function):
    """``z = |a|``. ``∂z/∂a = sign(a)``; at ``a = 0`` the subgradient 0 is used (as torch does)."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any]) -> NDArray[Any]:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return grad * np.sign(ctx.saved[0])


class MatMul(Function):
    """``Z = A @ B`` (numpy matmul semantics, batched and broadcast).

    With ``G = ∂L/∂Z``: ``∂L/∂A = G @ Bᵀ`` and ``∂L/∂B = Aᵀ @ G`` (transposes of the last two axes;
    1-D operands are promoted to matrices and the promotion undone; batch broadcasting un-broadcast).
    """

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(f"matmul operands must be at least 1-D, got shapes {np.shape(a)} and {np.shape(b)}")
        if np.shape(a)[-1] != np.shape(b)[-2 if np.ndim(b) > 1 else 0]:
            raise ValueError(f"matmul shape mismatch: {np.shape(a)} @ {np.shape(b)}")
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        a, b = ctx.saved
        a2 = a[None, :] if a.ndim == 1 else a  # [.., n, k]
        b2 = b[:, None] if b.ndim == 1 else b  # [.., k, m]
        g2 = grad  # undo the promotions in reverse order (1-D @ 1-D: a 0-d grad becomes [1, 1])
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


# ==================================================================== reductions and shape ops
def _norm_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(int(ax) % max(ndim, 1) for ax in axes))


class Sum(Function):
    """``z = Σ_axis a``. ``∂z/∂a = 1``: the gradient is broadcast back over the summed axes."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], axis: Any = None, keepdims: bool = False) -> NDArray[Any]:
        ctx.axes = _norm_axes(axis, a.ndim)
        ctx.keepdims = keepdims
        ctx.shape = a.shape
        return np.asarray(np.sum(a, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        if not ctx.keepdims:
            grad = np.expand_dims(grad, ctx.axes)
        return np.broadcast_to(grad, ctx.shape)


class Mean(Function):
    """``z = (1/n) Σ_axis a``. ``∂z/∂a = 1/n`` everywhere, ``n`` the number of averaged elements."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], axis: Any = None, keepdims: bool = False) -> NDArray[Any]:
        ctx.axes = _norm_axes(axis, a.ndim)
        ctx.keepdims = keepdims
        ctx.shape = a.shape
        ctx.n = int(np.prod([a.shape[i] for i in ctx.axes])) if a.ndim else 1
        return np.asarray(np.mean(a, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        if not ctx.keepdims:
            grad = np.expand_dims(grad, ctx.axes)
        return np.broadcast_to(grad / ctx.n, ctx.shape)


class Max(Function):
    """``z = max_axis a``. The gradient goes to the maximal elements; ties share it equally
    (torch's ``amax`` convention; ``torch.max(dim)`` instead gives all of it to the first index)."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], axis: Any = None, keepdims: bool = False) -> NDArray[Any]:
        ctx.axes = _norm_axes(axis, a.ndim)
        ctx.keepdims = keepdims
        out = np.max(a, axis=ctx.axes, keepdims=True)
        ctx.save_for_backward(a, out)
        return out if keepdims else np.squeeze(out, axis=ctx.axes)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        a, out = ctx.saved
        if not ctx.keepdims:
            grad = np.expand_dims(grad, ctx.axes)
        mask = a == out
        return mask * (grad / mask.sum(axis=ctx.axes, keepdims=True))


class Reshape(Function):
    """``z = reshape(a)``. The gradient is reshaped back (a reshape moves no values)."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
        ctx.shape = a.shape
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return np.reshape(grad, ctx.shape)


class Permute(Function):
    """``z = transpose(a, axes)``. The gradient is transposed by the inverse permutation."""

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], axes: tuple[int, ...]) -> NDArray[Any]:
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        return np.transpose(grad, np.argsort(ctx.axes))


def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    """``z = a[index]``. The gradient is scattered back: ``∂L/∂a[index] += ∂L/∂z``.

    Advanced (array) indices may repeat an element, so they scatter with ``np.add.at`` (which adds
    repeated positions instead of overwriting them).
    """

    @staticmethod
    def forward(ctx: Context, a: NDArray[Any], index: Any) -> NDArray[Any]:
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        out = np.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_basic_index(ctx.index):
            out[ctx.index] += grad
        else:
            np.add.at(out, ctx.index, grad)
        return out


class Concat(Function):
    """``z = concatenate([a₀, a₁, …], axis)``. Each input receives its slice of the gradient."""

    @staticmethod
    def forward(ctx: Context, *arrays: NDArray[Any], axis: int = 0) -> NDArray[Any]:
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, ...]:
        return tuple(np.split(grad, ctx.splits, axis=ctx.axis))


def cat(tensors: list[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along ``dim`` (``torch.cat``)."""
    if len(tensors) == 0:
        raise ValueError("cat: tensors must be a non-empty list")
    return Concat.apply(*[as_tensor(t) for t in tensors], axis=dim)
