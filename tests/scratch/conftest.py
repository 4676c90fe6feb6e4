"""Oracle helper for the scratch-engine tests: run our op and torch's on the same float64 data and
compare the output and every input gradient (rtol 1e-7, atol 1e-10 unless stated)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch

from dlprimer.scratch import Tensor

RTOL, ATOL = 1e-7, 1e-10


def _close(ours: np.ndarray, theirs: np.ndarray, what: str, rtol: float, atol: float) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=f"{what}: ours vs torch")


def torch_compare(ours: Callable[..., Any], theirs: Callable[..., Any], inputs: Sequence[np.ndarray],
                  grads: Sequence[bool] | None = None, rtol: float = RTOL, atol: float = ATOL,
                  seed: int = 0) -> tuple[Any, Any]:
    """Forward and backward (with a random upstream gradient) of ``ours`` vs ``theirs``."""
    if grads is None:
        grads = [np.issubdtype(np.asarray(a).dtype, np.floating) for a in inputs]
    ts = [Tensor(np.array(a, copy=True), requires_grad=g) for a, g in zip(inputs, grads, strict=True)]
    tt = [torch.tensor(np.array(a, copy=True), requires_grad=g) for a, g in zip(inputs, grads, strict=True)]
    out = ours(*ts)
    tout = theirs(*tt)
    assert out.dtype == np.float64, out.dtype
    _close(out.data, tout.detach().numpy(), "forward", rtol, atol)
    if not any(grads):
        return out, tout
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    tout.backward(torch.tensor(upstream))
    for i, (t, tt_i) in enumerate(zip(ts, tt, strict=True)):
        if grads[i]:
            assert t.grad is not None, f"input {i} got no gradient"
            _close(t.grad, tt_i.grad.numpy(), f"grad of input {i}", rtol, atol)
    return out, tout


@pytest.fixture
def compare() -> Callable[..., Any]:
    return torch_compare
