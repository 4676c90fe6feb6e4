"""Swish as a torch.autograd.Function: hand-written backward vs gradcheck and vs torch's own autograd."""

from __future__ import annotations

import pytest
import torch

from dlprimer.nn.activations import Swish, SwishFunction, swish


def test_swish_function_gradcheck_fixed_and_learnable_beta() -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    beta = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(SwishFunction.apply, (x, beta))
    beta_c = torch.rand(1, 4, 1, dtype=torch.float64, requires_grad=True)  # per channel
    assert torch.autograd.gradcheck(SwishFunction.apply, (x, beta_c))


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 4.0])
def test_swish_matches_autograd_of_formula(beta) -> None:
    torch.manual_seed(1)
    x1 = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    b1 = torch.tensor(beta, dtype=torch.float64, requires_grad=True)
    x2, b2 = x1.detach().clone().requires_grad_(), b1.detach().clone().requires_grad_()
    out1 = swish(x1, b1)
    out2 = x2 * torch.sigmoid(b2 * x2)
    torch.testing.assert_close(out1, out2, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(out1)
    out1.backward(g)
    out2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(b1.grad, b2.grad, rtol=1e-10, atol=1e-12)


def test_swish_beta_one_is_silu_and_module_learns_beta() -> None:
    x = torch.randn(4, 3, 2, 2)
    torch.testing.assert_close(Swish()(x), torch.nn.functional.silu(x))
    m = Swish(beta=0.7, learnable=True, num_parameters=3)
    assert [n for n, _ in m.named_parameters()] == ["beta"]
    m(x).sum().backward()
    assert m.beta.grad is not None and m.beta.grad.shape == (3,)
    fixed = Swish(beta=2.0)
    assert list(fixed.parameters()) == [] and "beta" in fixed.state_dict()


def test_swish_bad_inputs() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        swish(torch.arange(3))
    with pytest.raises(ValueError, match="num_parameters must be an integer >= 1"):
        Swish(num_parameters=0)
    with pytest.raises(ValueError, match="requires learnable=True"):
        Swish(num_parameters=3)
    with pytest.raises(ValueError, match=r"needs input \[N, 3, \.\.\.\], got shape \(2, 4\)"):
        Swish(learnable=True, num_parameters=3)(torch.zeros(2, 4))
