"""Reverse-mode automatic differentiation on NumPy arrays: ``Tensor``, ``Function`` and the backward pass.

The notes' "function 与 module" distinction, from first principles:

* a :class:`Function` is one differentiable operation. Its ``forward(ctx, *arrays)`` computes the result
  from plain ``ndarray`` s and stores in ``ctx`` what the backward needs; its ``backward(ctx, grad)``
  receives ``∂L/∂output`` and returns ``∂L/∂input`` for every positional input (``None`` for inputs that
  are not tensors or need no gradient). The local derivative is derived by hand in each docstring.
* a :class:`Tensor` wraps an ``ndarray`` (``.data``), remembers the Function call that produced it (the
  graph is recorded while ``forward`` runs) and receives ``.grad`` from :meth:`Tensor.backward`, which
  visits the graph in reverse topological order and *accumulates* (``+=``) gradients, so a tensor used
  twice gets the sum of both paths (the multivariate chain rule).
* a ``Module`` (``dlprimer.scratch.nn``) merely holds parameters and calls Functions.

Broadcasting: an elementwise op whose input was broadcast from shape ``s`` to the output shape sums the
incoming gradient back to ``s`` (:func:`unbroadcast`), because a broadcast copies one value to many outputs.

This module never imports torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

_GRAD_ENABLED = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager: operations inside record no graph (evaluation, optimizer updates)."""
    global _GRAD_ENABLED
    previous = _GRAD_ENABLED
    _GRAD_ENABLED = False
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph."""
    return _GRAD_ENABLED


def unbroadcast(grad: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    """Sum ``grad`` (the output's shape) back to ``shape``, the shape an input had before broadcasting.

    Leading axes that broadcasting added are summed away; axes where the input had size 1 are summed with
    ``keepdims``. This is the transpose of the broadcast copy.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Context:
    """Per-call scratch space shared by a Function's forward and backward.

    ``saved`` holds what ``save_for_backward`` stored; any other attribute may be set freely.
    ``needs_input_grad[i]`` tells backward whether positional input ``i`` wants a gradient.
    """

    def __init__(self) -> None:
        self.saved: tuple[Any, ...] = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.fn: type[Function] | None = None
        self.inputs: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        self.saved = values


class Function:
    """One differentiable operation: subclass and write ``forward`` and ``backward`` as static methods.

    ``Sub.apply(*args, **kwargs)`` unwraps the ``Tensor`` arguments to their arrays, runs ``forward``,
    wraps the result in a ``Tensor`` and, when any input requires a gradient (and grad mode is on),
    records the call so :meth:`Tensor.backward` can call ``backward(ctx, grad)`` later. Keyword arguments
    are configuration (never differentiated).
    """

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> NDArray[Any]:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        ctx = Context()
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = _GRAD_ENABLED and any(needs)
        ctx.needs_input_grad = needs
        out = cls.forward(ctx, *raw, **kwargs)
        result = Tensor(out, requires_grad=record)
        if record:
            ctx.fn = cls
            ctx.inputs = tuple(args)
            result._ctx = ctx
        return result


def _as_array(data: Any, dtype: Any = None) -> NDArray[Any]:
    if isinstance(data, Tensor):
        data = data.data
    arr = np.asarray(data, dtype=dtype)
    if arr.dtype == object:
        raise TypeError(f"Tensor data must be numeric, got an array of dtype object from {type(data).__name__}")
    return arr


class Tensor:
    """An ``ndarray`` plus the graph that produced it and, after ``backward()``, its gradient.

    Args:
        data: anything ``np.asarray`` accepts (the array is not copied when it already is one).
        requires_grad: record operations on this tensor and give it a ``.grad``; only floating dtypes may
            require a gradient (``TypeError`` otherwise).
        dtype: optional dtype to convert ``data`` to.

    Attributes: ``data`` (ndarray), ``grad`` (ndarray of the same shape, or ``None``), ``shape``, ``dtype``,
    ``ndim``, ``requires_grad``, ``is_leaf``.
    """

    __array_priority__ = 1000  # make ndarray (op) Tensor defer to Tensor's reflected operators

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data: NDArray[Any] = _as_array(data, dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: NDArray[Any] | None = None
        self._ctx: Context | None = None

    # ---------------------------------------------------------------- basic properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def numel(self) -> int:
        return int(self.data.size)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.data.shape if dim is None else self.data.shape[dim]

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> NDArray[Any]:
        return self.data

    def detach(self) -> Tensor:
        return Tensor(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}, dtype={self.dtype}{flag})"

    def zero_grad(self) -> None:
        self.grad = None

    # ---------------------------------------------------------------- the backward pass
    def backward(self, grad: ArrayLike | None = None) -> None:
        """Accumulate ``∂self/∂leaf`` (times ``grad``) into ``.grad`` of every leaf that requires a gradient.

        ``grad`` defaults to 1 and may only be omitted for a single-element tensor (a scalar loss).
        Nodes are visited in reverse topological order, so each node's gradient is complete (summed over
        all its consumers) before its own Function's backward runs.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"grad can be omitted only for a single-element tensor, got shape {self.shape}")
            g0 = np.ones_like(self.data)
        else:
            g0 = np.asarray(grad, dtype=self.dtype)
            if g0.shape != self.shape:
                raise ValueError(f"grad must have the tensor's shape {self.shape}, got {g0.shape}")
        order = _topological_order(self)
        grads: dict[int, NDArray[Any]] = {id(self): g0}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            ctx = node._ctx
            if ctx is None:  # a leaf
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            assert ctx.fn is not None
            input_grads = ctx.fn.backward(ctx, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for inp, ig, need in zip(ctx.inputs, input_grads, ctx.needs_input_grad, strict=False):
                if not need or ig is None:
                    continue
                ig = np.asarray(ig, dtype=inp.dtype)
                assert ig.shape == inp.shape, (ctx.fn.__name__, ig.shape, inp.shape)
                key = id(inp)
                grads[key] = grads[key] + ig if key in grads else ig

    # ---------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self, _wrap(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return _ops.Add.apply(_wrap(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self, _wrap(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(_wrap(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self, _wrap(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(_wrap(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self, _wrap(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(_wrap(other, self), self)

    def __neg__(self) -> Tensor:
        return _ops.Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor):
            return _ops.PowTensor.apply(self, exponent)
        return _ops.Pow.apply(self, exponent=float(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return _ops.PowTensor.apply(_wrap(base, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self, _wrap(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(_wrap(other, self), self)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        return _ops.GetItem.apply(self, index=index)

    # comparisons give plain boolean arrays (not differentiable)
    def __lt__(self, other: Any) -> NDArray[np.bool_]:
        return self.data < _raw(other)

    def __le__(self, other: Any) -> NDArray[np.bool_]:
        return self.data <= _raw(other)

    def __gt__(self, other: Any) -> NDArray[np.bool_]:
        return self.data > _raw(other)

    def __ge__(self, other: Any) -> NDArray[np.bool_]:
        return self.data >= _raw(other)

    # ---------------------------------------------------------------- methods
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.Reshape.apply(self, shape=tuple(int(s) for s in shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        nd = self.ndim
        s, e = start_dim % max(nd, 1), end_dim % max(nd, 1)
        shape = self.shape[:s] + (int(np.prod(self.shape[s : e + 1])),) + self.shape[e + 1 :]
        return self.reshape(shape)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _ops.Permute.apply(self, axes=tuple(axes))

    def permute(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.Permute.apply(self, axes=tuple(axes))

    @property
    def T(self) -> Tensor:  # noqa: N802 (numpy's name)
        return _ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))

    def exp(self) -> Tensor:
        return _ops.Exp.apply(self)

    def log(self) -> Tensor:
        return _ops.Log.apply(self)

    def abs(self) -> Tensor:
        return _ops.Abs.apply(self)

    def sqrt(self) -> Tensor:
        return _ops.Pow.apply(self, exponent=0.5)

    def argmax(self, axis: int | None = None) -> NDArray[np.intp]:
        return np.argmax(self.data, axis=axis)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _wrap(x: Any, like: Tensor) -> Tensor:
    """Wrap a Python number / ndarray as a constant Tensor; Python scalars take ``like``'s dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and np.issubdtype(like.dtype, np.floating):
        return Tensor(np.asarray(x, dtype=like.dtype))
    return Tensor(x)


def as_tensor(x: Any) -> Tensor:
    """Return ``x`` if it is a Tensor, else wrap it as a constant (no gradient)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes reachable from ``root`` that require grad, each after all its inputs (iterative DFS)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for inp in node._ctx.inputs:
                if isinstance(inp, Tensor) and inp.requires_grad and id(inp) not in seen:
                    stack.append((inp, False))
    return order


# The primitive Functions live in ops/basic.py (they need Tensor and Function, defined above); Tensor's
# operators look them up at call time through this module reference.
from dlprimer.scratch.ops import basic as _ops  # noqa: E402


def cat(tensors: list[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along ``dim`` (``torch.cat``)."""
    return _ops.cat(tensors, dim)
