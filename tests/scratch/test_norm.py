"""Normalization vs torch (float64): BatchNorm train/eval + running stats, LayerNorm, InstanceNorm, GroupNorm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from dlprimer.scratch import Tensor, gradcheck, nn
from dlprimer.scratch import functional as F

rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 1)])
def test_batch_norm_training_functional(compare, shape) -> None:
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    ours_rm, ours_rv, t_rm, t_rv = rm.copy(), rv.copy(), torch.tensor(rm), torch.tensor(rv)
    compare(lambda x_, w_, b_: F.batch_norm(x_, ours_rm, ours_rv, w_, b_, True, 0.3, 1e-5),
            lambda x_, w_, b_: TF.batch_norm(x_, t_rm, t_rv, w_, b_, True, 0.3, 1e-5), [x, w, b])
    np.testing.assert_allclose(ours_rm, t_rm.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours_rv, t_rv.numpy(), rtol=1e-7, atol=1e-10)  # unbiased running var


def test_batch_norm_eval_functional(compare) -> None:
    x = rng.standard_normal((3, 4, 2, 2))
    rm, rv = rng.standard_normal(4), rng.random(4) + 0.5
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    compare(lambda x_, w_, b_: F.batch_norm(x_, rm, rv, w_, b_, False),
            lambda x_, w_, b_: TF.batch_norm(x_, torch.tensor(rm), torch.tensor(rv), w_, b_, False), [x, w, b])


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_module_train_then_eval_matches_torch(momentum) -> None:
    ours = nn.BatchNorm2d(3, momentum=momentum).double()
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
        theirs.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in range(3):
        x = rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step
        np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-7,
                                   atol=1e-10)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-7, atol=1e-10, err_msg=key)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 5, 5))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-7, atol=1e-10)


def test_batchnorm1d_module_and_no_running_stats() -> None:
    ours = nn.BatchNorm1d(4, track_running_stats=False, affine=False).double()
    theirs = torch.nn.BatchNorm1d(4, track_running_stats=False, affine=False).double()
    ours.eval()
    theirs.eval()  # without running stats, eval still uses batch statistics
    x = rng.standard_normal((5, 4, 3))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).numpy(), rtol=1e-7, atol=1e-10)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []


@pytest.mark.parametrize("ns", [(5,), (4, 5)])
def test_layer_norm(compare, ns) -> None:
    x = rng.standard_normal((2, 3, 4, 5))
    w, b = rng.standard_normal(ns), rng.standard_normal(ns)
    compare(lambda x_, w_, b_: F.layer_norm(x_, ns, w_, b_), lambda x_, w_, b_: TF.layer_norm(x_, ns, w_, b_),
            [x, w, b])


def test_instance_norm(compare) -> None:
    x = rng.standard_normal((2, 3, 4, 5))
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = np.zeros(3), np.ones(3)
    t_rm, t_rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    compare(lambda x_, w_, b_: F.instance_norm(x_, rm, rv, w_, b_, momentum=0.2),
            lambda x_, w_, b_: TF.instance_norm(x_, t_rm, t_rv, w_, b_, momentum=0.2), [x, w, b])
    np.testing.assert_allclose(rm, t_rm.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(rv, t_rv.numpy(), rtol=1e-7, atol=1e-10)
    ours = nn.InstanceNorm2d(3).double()
    np.testing.assert_allclose(ours(x).data, torch.nn.InstanceNorm2d(3)(torch.tensor(x)).numpy(), rtol=1e-7,
                               atol=1e-10)


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm(compare, groups) -> None:
    x = rng.standard_normal((2, 6, 3, 4))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    compare(lambda x_, w_, b_: F.group_norm(x_, groups, w_, b_), lambda x_, w_, b_: TF.group_norm(x_, groups, w_, b_),
            [x, w, b])


def test_norm_gradcheck() -> None:
    x = Tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    w = Tensor(rng.standard_normal(2), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x_, w_, b_: F.batch_norm(x_, None, None, w_, b_, True), [x, w, b])
    assert gradcheck(lambda x_, w_, b_: F.group_norm(x_, 2, w_, b_), [x, w, b])


def test_norm_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(np.zeros((1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(np.zeros((2, 3)), None, None, np.ones(4), training=True)
    with pytest.raises(ValueError, match=r"BatchNorm2d expects input \[N, C, H, W\], got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\) got input shape \(2, 3\)"):
        nn.BatchNorm1d(4)(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="running_mean must be a floating ndarray"):
        F.batch_norm(np.zeros((2, 3)), [0.0, 0.0, 0.0], np.ones(3), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(np.zeros((2, 3)), None, None, training=False)
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\).*\(2, 3\)"):
        F.layer_norm(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="num_groups must be a positive int dividing the 6 channels"):
        F.group_norm(np.zeros((2, 6, 2, 2)), 4)
    with pytest.raises(TypeError, match="input must be a floating-point tensor"):
        F.layer_norm(np.zeros((2, 3), dtype=np.int64), 3)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_instance_norm2d_tracking_module_matches_torch_state_dict(momentum) -> None:
    # regression: InstanceNorm2d(track_running_stats=True) lacked torch's num_batches_tracked buffer (so a
    # torch state_dict did not load strictly) and crashed on momentum=None (torch treats it as 0)
    ours = nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=momentum).double()
    theirs = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for train in (True, True, False):
        ours.train(train)
        theirs.train(train)
        x = rng.standard_normal((2, 3, 4, 5))
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-7, atol=1e-10)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        np.testing.assert_allclose(sd[k], tsd[k].numpy(), rtol=1e-7, atol=1e-10, err_msg=k)
