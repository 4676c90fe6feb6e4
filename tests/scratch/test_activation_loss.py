"""Activations, softmax family and losses vs torch (float64); stability at |logits| = 1e4; dropout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
import torchvision.ops

from dlprimer.scratch import Tensor, gradcheck
from dlprimer.scratch import functional as F

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4, 5)) * 3


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (F.sigmoid, torch.sigmoid),
        (F.tanh, torch.tanh),
        (F.relu, TF.relu),
        (lambda t: F.leaky_relu(t, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
        (F.silu, TF.silu),
        (lambda t: F.swish(t, 1.7), lambda t: t * torch.sigmoid(1.7 * t)),
        (lambda t: F.softmax(t, dim=1), lambda t: TF.softmax(t, dim=1)),
        (lambda t: F.log_softmax(t, dim=-1), lambda t: TF.log_softmax(t, dim=-1)),
        (lambda t: F.softmax(t), lambda t: TF.softmax(t, dim=0)),  # implicit dim for 3-D input: 0, as torch
    ],
)
def test_activation_matches_torch(compare, ours, theirs) -> None:
    compare(ours, theirs, [X])


def test_relu_family_gradient_at_zero_matches_torch(compare) -> None:
    x = np.array([-1.0, 0.0, 2.0])
    compare(F.relu, TF.relu, [x])
    compare(lambda t: F.leaky_relu(t, 0.1), lambda t: TF.leaky_relu(t, 0.1), [x])


@pytest.mark.parametrize("wshape", [(1,), (4,)])
def test_prelu(compare, wshape) -> None:
    w = rng.random(wshape)
    compare(F.prelu, TF.prelu, [X, w])


def test_learnable_swish_beta_gradient(compare) -> None:
    compare(lambda t, b: F.swish(t, b), lambda t, b: t * torch.sigmoid(b * t), [X, np.array(0.8)])
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    beta = Tensor(np.array(1.3), requires_grad=True)
    assert gradcheck(lambda a, b: F.swish(a, b), [x, beta])


@pytest.mark.parametrize("scale", [1e4, 1e6])
def test_softmax_family_stable_for_huge_logits(scale) -> None:
    logits = np.array([[1.0, -2.0, 0.5], [3.0, 3.0, -1.0]]) * scale
    target = np.array([1, 0])
    t = torch.tensor(logits)
    for ours, theirs in [(F.softmax(logits, dim=1), TF.softmax(t, dim=1)),
                         (F.log_softmax(logits, dim=1), TF.log_softmax(t, dim=1)),
                         (F.cross_entropy(logits, target), TF.cross_entropy(t, torch.tensor(target)))]:
        assert np.all(np.isfinite(ours.data))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-7, atol=1e-10)
    # hand-worked: CE of row 0 is 3e4 (target logit −2e4 vs max 1e4), row 1 is log 2
    np.testing.assert_allclose(F.cross_entropy(np.array([[1.0, -2.0, 0.5]]) * 1e4, np.array([1])).item(), 3e4)
    np.testing.assert_allclose(F.cross_entropy(logits[1:], np.array([0])).item(), np.log(2.0), rtol=1e-12)
    x = Tensor(logits, requires_grad=True)
    F.cross_entropy(x, target).backward()
    assert np.all(np.isfinite(x.grad))


def test_sigmoid_extreme_values_finite() -> None:
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    np.testing.assert_allclose(F.sigmoid(x).data, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-12, atol=0)


CE_CASES = [
    dict(),
    dict(label_smoothing=0.2),
    dict(reduction="sum"),
    dict(reduction="none", label_smoothing=0.1),
    dict(weight="w"),
    dict(weight="w", label_smoothing=0.3),
    dict(weight="w", ignore_index=2, label_smoothing=0.15),
    dict(ignore_index=1, reduction="none"),
    dict(ignore_index=0, reduction="sum", weight="w", label_smoothing=0.05),
]


@pytest.mark.parametrize("kwargs", CE_CASES)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_class_indices(compare, kwargs, shape) -> None:
    c = shape[1] if len(shape) > 1 else shape[0]
    logits = rng.standard_normal(shape) * 2
    tshape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    target = rng.integers(0, c, size=tshape)
    if len(shape) > 1:
        target.flat[0] = kwargs.get("ignore_index", 0) if "ignore_index" in kwargs else target.flat[0]
    kw = dict(kwargs)
    if kw.get("weight") == "w":
        kw["weight"] = rng.random(c) + 0.2
    tkw = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
    compare(lambda x: F.cross_entropy(x, target, **kw), lambda x: TF.cross_entropy(x, torch.tensor(target), **tkw),
            [logits])


@pytest.mark.parametrize("kwargs", [dict(), dict(label_smoothing=0.2), dict(weight="w", reduction="sum"),
                                    dict(weight="w", label_smoothing=0.1), dict(reduction="none")])
def test_cross_entropy_probabilities_with_target_gradient(compare, kwargs) -> None:
    logits = rng.standard_normal((5, 3, 2))
    probs = rng.random((5, 3, 2))
    probs /= probs.sum(axis=1, keepdims=True)
    kw = dict(kwargs)
    if kw.get("weight") == "w":
        kw["weight"] = rng.random(3) + 0.5
    tkw = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
    compare(lambda x, p: F.cross_entropy(x, p, **kw), lambda x, p: TF.cross_entropy(x, p, **tkw), [logits, probs])


def test_nll_loss(compare) -> None:
    logp = np.log(rng.dirichlet(np.ones(4), size=5))
    target = rng.integers(0, 4, size=5)
    compare(lambda x: F.nll_loss(x, target), lambda x: TF.nll_loss(x, torch.tensor(target)), [logp])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_losses(compare, reduction) -> None:
    p = rng.uniform(0.02, 0.98, size=(4, 3))
    y = rng.random((4, 3))
    w = rng.random((4, 3)) + 0.5
    compare(lambda a, b: F.binary_cross_entropy(a, b, w, reduction),
            lambda a, b: TF.binary_cross_entropy(a, b, torch.tensor(w), reduction=reduction), [p, y])
    logits = rng.standard_normal((4, 3)) * 4
    pw = rng.random(3) + 0.5
    compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, reduction, pos_weight=pw),
            lambda a, b: TF.binary_cross_entropy_with_logits(a, b, torch.tensor(w), reduction=reduction,
                                                             pos_weight=torch.tensor(pw)), [logits, y])


def test_bce_with_logits_stable_for_huge_logits() -> None:
    x, y = np.array([1e4, -1e4, 30.0]), np.array([0.0, 1.0, 1.0])
    ours = F.binary_cross_entropy_with_logits(x, y, reduction="none").data
    np.testing.assert_allclose(ours, [1e4, 1e4, np.log1p(np.exp(-30.0))], rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(compare, reduction) -> None:
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    compare(lambda x, y: F.mse_loss(x, y, reduction), lambda x, y: TF.mse_loss(x, y, reduction=reduction), [a, b])
    compare(lambda x, y: F.l1_loss(x, y, reduction), lambda x, y: TF.l1_loss(x, y, reduction=reduction), [a, b])
    for beta in (0.0, 0.5, 2.0):
        compare(lambda x, y, beta=beta: F.smooth_l1_loss(x, y, reduction, beta),
                lambda x, y, beta=beta: TF.smooth_l1_loss(x, y, reduction=reduction, beta=beta), [a, b])


@pytest.mark.parametrize(("alpha", "gamma", "reduction"), [(0.25, 2.0, "none"), (-1, 0.0, "mean"), (0.6, 1.5, "sum")])
def test_sigmoid_focal_loss_matches_torchvision(compare, alpha, gamma, reduction) -> None:
    x = rng.standard_normal((4, 3)) * 2
    y = (rng.random((4, 3)) > 0.6).astype(np.float64)
    compare(lambda a, b: F.sigmoid_focal_loss(a, b, alpha, gamma, reduction),
            lambda a, b: torchvision.ops.sigmoid_focal_loss(a, b, alpha, gamma, reduction), [x, y])


def test_losses_gradcheck() -> None:
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = rng.integers(0, 4, size=3)
    assert gradcheck(lambda a: F.cross_entropy(a, t, label_smoothing=0.1, weight=np.array([1.0, 2, 0.5, 1])), [x])
    y = Tensor(rng.random((3, 4)), requires_grad=True)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=np.full(4, 2.0)), [x, y])
    assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), [x, y])


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_closed_form_with_its_mask(p) -> None:
    x = rng.standard_normal((50, 40))
    out = Tensor(x, requires_grad=True)
    y = F.dropout(out, p, training=True, generator=np.random.default_rng(123))
    upstream = rng.standard_normal(x.shape)
    y.backward(upstream)
    keep = np.random.default_rng(123).random(x.shape) >= p  # the mask it drew, redrawn from the same seed
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    if p == 0.0:
        keep, scale = np.ones_like(keep), 1.0
    np.testing.assert_allclose(y.data, x * keep * scale, rtol=1e-12)
    np.testing.assert_allclose(out.grad, upstream * keep * scale, rtol=1e-12)
    if 0 < p < 1:
        assert abs(keep.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / x.size)
    np.testing.assert_array_equal(F.dropout(x, p, training=False).data, x)


def test_activation_and_loss_bad_inputs() -> None:
    with pytest.raises(TypeError, match="input must be a floating-point tensor.*int64"):
        F.relu(np.arange(3))
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        F.softmax(np.zeros((2, 2)), dim=2)
    with pytest.raises(ValueError, match=r"weight has 3 values but input shape \(2, 4\) has 4 channels"):
        F.prelu(np.zeros((2, 4)), np.ones(3))
    with pytest.raises(ValueError, match=r"weight has 3 values but input shape \(3,\) has 1 channels"):
        F.prelu(np.zeros(3), np.ones(3))  # as torch: below 2-D there is no channel axis
    with pytest.raises(ValueError, match=r"target of class indices must have shape \(3,\).*got \(4,\)"):
        F.cross_entropy(np.zeros((3, 5)), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 5\)"):
        F.cross_entropy(np.zeros((3, 5)), np.array([0, 5, 1]))
    with pytest.raises(ValueError, match=r"target \(probabilities\) must have the shape of input"):
        F.cross_entropy(np.zeros((3, 5)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"weight must have one value per class, shape \(5,\)"):
        F.cross_entropy(np.zeros((3, 5)), np.zeros(3, dtype=np.int64), weight=np.ones(4))
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(np.zeros(3), np.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match=r"target must have the shape of input \(3,\), got \(4,\)"):
        F.l1_loss(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(np.zeros((3, 5)), np.zeros(3, dtype=np.int64), label_smoothing=1.5)
    with pytest.raises(ValueError, match="p must be a finite number >= 0 and <= 1"):
        F.dropout(np.zeros(3), p=1.2)
    with pytest.raises(TypeError, match="generator"):
        F.dropout(np.zeros(3), p=0.5, generator=42)
