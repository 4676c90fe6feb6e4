"""Optimizers: 20 steps from the same parameters and gradients equal torch.optim's (float64, 1e-10)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlprimer.scratch import Tensor, optim

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True),
    dict(lr=0.02, momentum=0.5, dampening=0.1, weight_decay=0.1, maximize=True),
]
ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
    dict(lr=0.003, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True),
]


def _run(ours_cls, theirs_cls, kwargs, steps=20):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,), (2, 2, 3)]
    init = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) * (1 + 5 * (k % 3 == 0)) for s in shapes] for k in range(steps)]
    ours_p = [Tensor(a.copy(), requires_grad=True) for a in init]
    theirs_p = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours_opt, theirs_opt = ours_cls(ours_p, **kwargs), theirs_cls(theirs_p, **kwargs)
    for k in range(steps):
        for p, tp, g in zip(ours_p, theirs_p, grads[k], strict=True):
            p.grad = g.copy()
            tp.grad = torch.tensor(g.copy())
        ours_opt.step()
        theirs_opt.step()
        for p, tp in zip(ours_p, theirs_p, strict=True):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=f"step {k}")
    return ours_opt, ours_p


@pytest.mark.parametrize("kwargs", SGD_CASES)
def test_sgd_matches_torch(kwargs) -> None:
    _run(optim.SGD, torch.optim.SGD, kwargs)


@pytest.mark.parametrize("kwargs", ADAM_CASES)
@pytest.mark.parametrize("pair", [(optim.Adam, torch.optim.Adam), (optim.AdamW, torch.optim.AdamW)])
def test_adam_adamw_match_torch(kwargs, pair) -> None:
    _run(*pair, kwargs)


def test_state_dict_resume_equals_uninterrupted_run() -> None:
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(6)]

    def run(resume_at: int | None) -> np.ndarray:
        p = Tensor(p0.copy(), requires_grad=True)
        opt = optim.Adam([p], lr=0.1, amsgrad=True)
        for k, g in enumerate(grads):
            if resume_at is not None and k == resume_at:
                saved, params = opt.state_dict(), p.data.copy()
                p = Tensor(params, requires_grad=True)
                opt = optim.Adam([p], lr=0.5)
                opt.load_state_dict(saved)  # restores lr=0.1, amsgrad and the moments
            p.grad = g
            opt.step()
        return p.data

    np.testing.assert_array_equal(run(None), run(3))
    opt = optim.SGD([Tensor(np.zeros(2), requires_grad=True)], lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][0]["lr"] == 0.1


def test_param_groups_and_zero_grad() -> None:
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_optimizer_bad_inputs() -> None:
    p = [Tensor(np.ones(2), requires_grad=True)]
    with pytest.raises(ValueError, match="nesterov momentum requires momentum > 0"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr must be ≥ 0"):
        optim.SGD(p, lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="must be Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="require grad"):
        optim.SGD([Tensor(np.ones(2))], lr=0.1)
