"""Tensor autograd: operators, reductions, shape ops and indexing vs torch (float64); graph behaviour."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from dlprimer.scratch import Function, Tensor, cat, no_grad

rng = np.random.default_rng(0)


def test_scratch_never_imports_torch() -> None:
    code = ("import sys; import dlprimer.scratch, dlprimer.scratch.functional, dlprimer.scratch.nn, "
            "dlprimer.scratch.optim, dlprimer.scratch.data, dlprimer.scratch.init, dlprimer.scratch.models, "
            "dlprimer.scratch.trainer; assert 'torch' not in sys.modules, 'torch was imported'; print('ok')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("add-broadcast", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / (b * b + 1.0)),
        ("rsub-scalar", lambda a, b: 2.0 - a * b),
        ("pow", lambda a, b: (a * a + 1.0) ** 1.5 + b**2),
        ("neg-exp-log", lambda a, b: (-a).exp() + (b * b + 0.5).log()),
        ("abs", lambda a, b: (a - b).abs()),
    ],
)
def test_elementwise_broadcasting(compare, name, fn) -> None:
    a = rng.standard_normal((3, 1, 5))
    b = rng.standard_normal((4, 1))
    compare(fn, fn, [a, b])


def test_matmul_batched_and_vector(compare) -> None:
    compare(lambda a, b: a @ b, lambda a, b: a @ b, [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))])
    compare(lambda a, b: a @ b, lambda a, b: a @ b, [rng.standard_normal((3, 4)), rng.standard_normal(4)])
    compare(lambda a, b: a @ b, lambda a, b: a @ b, [rng.standard_normal(4), rng.standard_normal((2, 4, 3))])


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(compare, axis, keepdims) -> None:
    x = rng.standard_normal((3, 4, 5))
    tdim = axis if axis is not None else tuple(range(3))
    compare(lambda t: t.sum(axis, keepdims), lambda t: t.sum(tdim, keepdim=keepdims), [x])
    compare(lambda t: t.mean(axis, keepdims), lambda t: t.mean(tdim, keepdim=keepdims), [x])
    compare(lambda t: t.max(axis, keepdims), lambda t: t.amax(tdim, keepdim=keepdims), [x])


def test_max_ties_share_gradient_like_amax() -> None:
    x = Tensor(np.array([1.0, 3.0, 3.0, 2.0]), requires_grad=True)
    x.max().backward()
    tx = torch.tensor([1.0, 3.0, 3.0, 2.0], dtype=torch.float64, requires_grad=True)
    tx.amax().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_shape_ops_and_indexing(compare) -> None:
    x = rng.standard_normal((2, 3, 4))
    compare(lambda t: t.reshape(6, 4) * 2.0, lambda t: t.reshape(6, 4) * 2.0, [x])
    compare(lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2), [x])
    compare(lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1), [x])
    compare(lambda t: t[:, 1:, ::2], lambda t: t[:, 1:, ::2], [x])
    idx = np.array([0, 2, 2, 1])  # repeated index: gradients must add up
    compare(lambda t: t[:, idx], lambda t: t[:, torch.tensor(idx)], [x])
    compare(lambda t: t.flatten(1), lambda t: t.flatten(1), [x])


def test_cat(compare) -> None:
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 5))
    compare(lambda x, y: cat([x, y], dim=1), lambda x, y: torch.cat([x, y], dim=1), [a, b])


def test_reused_tensor_accumulates_gradient() -> None:
    x = Tensor(np.array([2.0, -1.0]), requires_grad=True)
    y = x * x + x * 3.0  # dy/dx = 2x + 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [7.0, 1.0])
    y = x * 2.0
    y.sum().backward()  # a second backward accumulates, as in torch
    np.testing.assert_allclose(x.grad, [9.0, 3.0])


def test_no_grad_records_nothing() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.is_leaf


def test_custom_function_backward_is_used() -> None:
    class Cube(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved
            return grad * 3 * a**2

    x = Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * np.array([1.0, -2.0, 0.5]) ** 2)


def test_bad_inputs() -> None:
    with pytest.raises(TypeError, match="floating"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(ValueError, match="single-element"):
        Tensor(np.ones(3), requires_grad=True).backward()
    with pytest.raises(ValueError, match="shape"):
        (Tensor(np.ones(3), requires_grad=True) * 2.0).backward(np.ones(4))
    with pytest.raises(ValueError, match="matmul shape mismatch"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 2)))
    with pytest.raises(ValueError, match="axis"):
        Tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(TypeError, match="numeric"):
        Tensor(["a", None])


@pytest.mark.parametrize(("sa", "sb"), [((4,), (4,)), ((4,), (2, 4, 3)), ((5, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul_vector_and_broadcast_shapes(compare, sa, sb) -> None:
    # regression: 1-D @ 1-D (a 0-d result) used to fail in backward (expand_dims of a 0-d grad at axis -2)
    compare(lambda a, b: a @ b, lambda a, b: a @ b, [rng.standard_normal(sa), rng.standard_normal(sb)])


def test_pow_gradients_at_zero_follow_torch(compare) -> None:
    # regression: x**0 at x = 0 gave NaN (0 · 0^-1); a**b with a = 0, b >= 0 gave NaN for ∂/∂b (0 · log 0)
    compare(lambda a: a**0, lambda a: a**0, [np.array([0.0, 1.5, -2.0])])
    base = np.array([0.0, 0.0, 2.0, 0.5])
    expo = np.array([2.0, 3.0, 0.0, -1.5])
    compare(lambda a, b: a**b, lambda a, b: a**b, [base, expo])
    compare(lambda a, b: a**b, lambda a, b: a**b, [rng.standard_normal((3, 4)), np.full((3, 4), 3.0)],
            grads=[True, False])  # negative bases, integral exponent
