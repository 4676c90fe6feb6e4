"""Initialization schemes against the closed-form statistics of the notes and torch.nn.init's draws."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dlprimer.nn.init import init_weights, list_inits


def big_linear(fan_in: int = 600, fan_out: int = 400) -> nn.Module:
    return nn.Sequential(nn.Linear(fan_in, fan_out), nn.BatchNorm1d(fan_out), nn.Linear(fan_out, 10, bias=False))


@pytest.mark.parametrize(
    "scheme,expected_std",
    [
        ("xavier_uniform", math.sqrt(2.0 / (600 + 400))),  # U(±√(6/(m+n))) has variance 2/(m+n)
        ("xavier_normal", math.sqrt(2.0 / (600 + 400))),
        ("kaiming_uniform", math.sqrt(2.0 / 600)),
        ("kaiming_normal", math.sqrt(2.0 / 600)),  # He: N(0, 2/n)
        ("normal", 0.01),
    ],
)
def test_weight_statistics_match_closed_form(scheme, expected_std):
    torch.manual_seed(0)
    model = init_weights(big_linear(), scheme)
    w = model[0].weight.detach().double()
    assert abs(w.mean().item()) < 3 * expected_std / math.sqrt(w.numel()) + 1e-12
    assert w.std().item() == pytest.approx(expected_std, rel=0.01)
    assert torch.count_nonzero(model[0].bias) == 0
    assert torch.equal(model[1].weight, torch.ones(400)) and torch.equal(model[1].bias, torch.zeros(400))
    if scheme == "xavier_uniform":
        assert w.abs().max().item() <= math.sqrt(6.0 / 1000) + 1e-12


def test_same_draws_as_torch_nn_init():
    conv = nn.Conv2d(3, 8, 3)
    torch.manual_seed(5)
    init_weights(nn.Sequential(conv), "xavier_normal", nonlinearity="tanh")
    ref = torch.empty(8, 3, 3, 3)
    torch.manual_seed(5)
    nn.init.xavier_normal_(ref, gain=5.0 / 3.0)
    assert torch.equal(conv.weight.detach(), ref)


def test_zeros_makes_neurons_identical_and_default_leaves_weights():
    model = init_weights(nn.Sequential(nn.Linear(4, 3)), "zeros")
    assert torch.count_nonzero(model[0].weight) == 0
    torch.manual_seed(1)
    m = nn.Linear(4, 3)
    before = m.weight.detach().clone()
    init_weights(m, "default")
    assert torch.equal(before, m.weight)


def test_registry_and_bad_input():
    assert {"xavier_uniform", "kaiming_normal", "zeros", "normal"} <= set(list_inits())
    with pytest.raises(ValueError, match="unknown init scheme 'he'.*kaiming_normal"):
        init_weights(nn.Linear(2, 2), "he")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        init_weights("not a model", "zeros")
