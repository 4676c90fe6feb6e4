"""``ModelEMA`` (YOLOv5's EMA of the weights) against the recurrence written out by hand in float64."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dlprimer.train.ema import ModelEMA


def test_ema_follows_the_warmed_up_recurrence():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()
    decay, tau = 0.9, 4.0
    ema = ModelEMA(model, decay=decay, tau=tau)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for t in range(1, 8):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        model.train()(torch.randn(5, 3, dtype=torch.float64))  # moves BatchNorm's running stats and its counter
        ema.update(model)
        d = decay * (1 - math.exp(-t / tau))
        for k, v in model.state_dict().items():
            expected[k] = d * expected[k] + (1 - d) * v if v.dtype.is_floating_point else v.clone()
    for k, v in ema.module.state_dict().items():
        torch.testing.assert_close(v, expected[k], rtol=0, atol=1e-12, msg=k)
    assert ema.module.state_dict()["1.num_batches_tracked"].item() == 7  # integer buffers are copied
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_ema_state_round_trips():
    model = nn.Linear(2, 2)
    a, b = ModelEMA(model, decay=0.99), ModelEMA(nn.Linear(2, 2), decay=0.99)
    for _ in range(3):
        a.update(model)
    b.load_state_dict(a.state_dict())
    assert b.updates == 3 and b.current_decay() == pytest.approx(0.99 * (1 - math.exp(-3 / 200)), rel=1e-15)
    for k, v in a.module.state_dict().items():
        assert torch.equal(v, b.module.state_dict()[k])
