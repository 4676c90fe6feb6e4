"""Focal, balanced BCE and smooth L1 vs torchvision / torch on float64 inputs."""

import pytest
import torch
import torch.nn.functional as F
import torchvision.ops as tvo

from dlprimer.nn.losses import balanced_bce, sigmoid_focal_loss, smooth_l1_loss


def data(n=200, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=torch.float64).to(dtype) * 4
    y = (torch.rand(n, generator=g) < 0.2).to(dtype)
    return x, y


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.75, 0.0), (-1.0, 1.5), (0.0, 3.0)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_matches_torchvision(alpha, gamma, reduction):
    x, y = data()
    got = sigmoid_focal_loss(x, y, alpha, gamma, reduction)
    want = tvo.sigmoid_focal_loss(x, y, alpha, gamma, reduction)
    assert got.shape == want.shape and got.dtype == torch.float64
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_focal_gamma_zero_no_alpha_is_bce_and_gradcheck():
    x, y = data(50, 1)
    torch.testing.assert_close(
        sigmoid_focal_loss(x, y, -1, 0.0, "mean"), F.binary_cross_entropy_with_logits(x, y), rtol=0, atol=1e-12
    )
    xg = x[:8].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: sigmoid_focal_loss(t, y[:8], 0.25, 2.0, "sum"), (xg,))


def test_focal_large_logits_stay_finite():
    x = torch.tensor([1e4, -1e4, 50.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    loss = sigmoid_focal_loss(x, y, reduction="sum")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("alpha", [0.25, 0.75, None])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_balanced_bce_matches_weighted_torch_bce(alpha, reduction):
    x, y = data(300, 2)
    m = y.sum()
    a = (len(y) - m) / len(y) if alpha is None else alpha  # alpha/(1-alpha) = n/m
    weight = a * y + (1 - a) * (1 - y)
    want = F.binary_cross_entropy_with_logits(x, y, weight=weight, reduction=reduction)
    torch.testing.assert_close(balanced_bce(x, y, alpha, reduction), want, rtol=0, atol=1e-12)


def test_balanced_bce_notes_rule_equalizes_classes():
    x, y = data(300, 3)
    per = balanced_bce(torch.zeros_like(x), y, None, "none")  # log 2 each, weighted by alpha / 1 - alpha
    assert per[y == 1].sum().item() == pytest.approx(per[y == 0].sum().item(), rel=1e-12)


@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0, 0.0])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_smooth_l1_matches_torch(beta, reduction):
    x, _ = data(100, 4)
    t = torch.randn(100, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    torch.testing.assert_close(
        smooth_l1_loss(x, t, beta, reduction),
        F.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
        rtol=0,
        atol=1e-12,
    )


def test_smooth_l1_hand_worked():
    x = torch.tensor([0.5, -3.0], dtype=torch.float64)
    torch.testing.assert_close(
        smooth_l1_loss(x, torch.zeros(2, dtype=torch.float64), reduction="none"),
        torch.tensor([0.125, 2.5], dtype=torch.float64),
    )


def test_bad_input():
    x, y = data(10)
    with pytest.raises(ValueError, match="alpha must be in"):
        sigmoid_focal_loss(x, y, alpha=1.5)
    with pytest.raises(ValueError, match="gamma must be .*>= 0"):
        sigmoid_focal_loss(x, y, gamma=-1)
    with pytest.raises(ValueError, match="inputs and targets must have the same shape"):
        sigmoid_focal_loss(x, y[:5])
    with pytest.raises(ValueError, match="reduction must be one of"):
        sigmoid_focal_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match="alpha must be .*<= 1"):
        balanced_bce(x, y, alpha=2.0)
    with pytest.raises(ValueError, match="beta must be .*>= 0"):
        smooth_l1_loss(x, y, beta=-0.5)
    with pytest.raises(TypeError, match="logits must be a floating tensor"):
        balanced_bce(x.long(), y)
