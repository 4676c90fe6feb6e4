"""Finite-difference gradient check (notes: 手推公式 — verify every hand-derived backward numerically).

For each input ``x`` that requires a gradient, the numerical Jacobian column of element ``j`` is the
central difference ``(f(x + ε e_j) − f(x − ε e_j)) / 2ε`` (error ``O(ε²)``), and the analytical Jacobian
row of output element ``k`` is the backward pass seeded with the unit vector ``e_k``. They must agree
elementwise within ``atol + rtol · |numerical|``. Inputs must be float64 (in float32 the rounding error
``~1e-7/ε`` swamps the difference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.scratch.autograd import Tensor, no_grad


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytical gradient disagrees with the numerical one."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"fn must return a Tensor or a tuple of Tensors, got {type(o).__name__}")
    return outs


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare ``fn``'s backward with central differences for every input Tensor with ``requires_grad``.

    Args:
        fn: maps ``*inputs`` to a Tensor (or a tuple of Tensors); must be deterministic.
        inputs: Tensors (those with ``requires_grad=True`` are checked; they must be float64) and
            other arguments passed through unchanged.
        eps: finite-difference step. atol, rtol: tolerance ``|analytical − numerical| ≤ atol + rtol·|numerical|``.
        raise_exception: raise :class:`GradcheckError` with the worst entry instead of returning False.

    Returns:
        True when every Jacobian entry agrees.
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck inputs must be float64, input {i} has dtype {inputs[i].dtype}")
    with no_grad():
        base = [o.data.copy() for o in _outputs(fn, inputs)]
    sizes = [b.size for b in base]
    n_out = sum(sizes)
    # numerical Jacobians: one [n_out, x.size] block per checked input
    numerical: dict[int, NDArray[np.float64]] = {}
    for i in checked:
        x = inputs[i].data
        jac = np.zeros((n_out, x.size))
        for j in range(x.size):
            at = np.unravel_index(j, x.shape)  # perturb x itself in place (any strides; reshape may copy)
            orig = x[at]
            x[at] = orig + eps
            with no_grad():
                plus = np.concatenate([o.data.reshape(-1) for o in _outputs(fn, inputs)])
            x[at] = orig - eps
            with no_grad():
                minus = np.concatenate([o.data.reshape(-1) for o in _outputs(fn, inputs)])
            x[at] = orig
            jac[:, j] = (plus - minus) / (2 * eps)
        numerical[i] = jac
    # analytical Jacobians: one backward per output element
    analytical = {i: np.zeros((n_out, inputs[i].data.size)) for i in checked}
    outs = _outputs(fn, inputs)
    row = 0
    for o, size in zip(outs, sizes, strict=True):
        for k in range(size):
            for i in checked:
                inputs[i].grad = None
            if o.requires_grad:
                seed = np.zeros(o.shape, dtype=o.dtype)
                seed.reshape(-1)[k] = 1.0
                o.backward(seed)
            for i in checked:
                g = inputs[i].grad
                if g is not None:
                    analytical[i][row] = g.reshape(-1)
            row += 1
    for i in checked:
        inputs[i].grad = None
        a, n = analytical[i], numerical[i]
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if bad.any():
            if not raise_exception:
                return False
            r, c = np.unravel_index(np.argmax(np.abs(a - n) - rtol * np.abs(n)), a.shape)
            raise GradcheckError(f"gradient mismatch for input {i}: output element {r}, input element {c}: "
                                 f"analytical {a[r, c]!r} vs numerical {n[r, c]!r} ({bad.sum()} bad entries)")
    return True
