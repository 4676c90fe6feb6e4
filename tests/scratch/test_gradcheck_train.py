"""gradcheck catches a wrong backward; the scratch LeNet-5 learns the embedded digits (brief run)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dlprimer.data.digits import load_digits_arrays
from dlprimer.scratch import Function, GradcheckError, Tensor, data, gradcheck, optim, trainer
from dlprimer.scratch import functional as F
from dlprimer.scratch.models import lenet5


class _WrongSquare(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved[0]  # should be 2a


def test_gradcheck_passes_on_composite_and_fails_on_wrong_backward() -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: F.log_softmax(F.linear(a, b), dim=1), [x, w])
    assert gradcheck(lambda a: (F.sigmoid(a) * a).sum(axis=1) / (a * a + 1.0).max(), [x])
    with pytest.raises(GradcheckError, match="gradient mismatch"):
        gradcheck(_WrongSquare.apply, [x])
    assert gradcheck(_WrongSquare.apply, [x], raise_exception=False) is False
    with pytest.raises(TypeError, match="float64"):
        gradcheck(F.relu, [Tensor(np.ones(2, dtype=np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(F.relu, [Tensor(np.ones(2))])


def test_scratch_lenet5_learns_digits_briefly() -> None:
    splits = load_digits_arrays(seed=0, size=32)
    rng = np.random.default_rng(0)
    model = lenet5(generator=rng)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = data.DataLoader(data.TensorDataset(splits.train.images, splits.train.labels), batch_size=64,
                             shuffle=True, generator=rng)
    epochs = 5
    total = epochs * len(loader)
    # one BLAS thread: these GEMMs are small, and spinning BLAS threads on a busy CI machine cost 5-10x
    with threadpool_limits(limits=1, user_api="blas"):
        for epoch in range(epochs):
            stats = trainer.train_one_epoch(model, loader, opt, lr=lambda k: 0.025 * (1 + np.cos(np.pi * k / total)),
                                            start_step=epoch * len(loader))
    assert stats["steps"] == len(loader) and stats["samples"] == len(splits.train.labels)
    result = trainer.evaluate(model, splits.test.images, splits.test.labels, batch_size=128)
    assert result["predictions"].shape == splits.test.labels.shape and result["predictions"].dtype == np.int64
    assert result["accuracy"] >= 0.90, result["accuracy"]
    assert model.training  # evaluate restores the mode
    with pytest.raises(ValueError, match="equal length"):
        trainer.evaluate(model, splits.test.images[:3], splits.test.labels[:2])


_R = np.random.default_rng(42)
_X4 = _R.standard_normal((2, 2, 4, 4))
_X2 = _R.standard_normal((3, 4))
_T2 = _R.random((3, 4))
GRADCHECK_OPS = {
    "conv2d": (lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=1), [_X4, _R.standard_normal((3, 2, 2, 3))]),
    "convolve2d": (lambda x, w: F.convolve2d(x, w, padding="same"), [_X4, _R.standard_normal((2, 2, 3, 3))]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2, 1, dilation=2), [_X4]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1), [_X4]),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, 3), [_X4]),
    "linear": (F.linear, [_X2, _R.standard_normal((2, 4)), _R.standard_normal(2)]),
    "dropout": (lambda x: F.dropout(x, 0.4, generator=np.random.default_rng(0)), [_X2]),
    "batch_norm_eval": (lambda x, w: F.batch_norm(x, np.zeros(2), np.ones(2) * 2, w, None), [_X4, np.ones(2)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [_X2, _R.standard_normal(4), _R.standard_normal(4)]),
    "instance_norm": (lambda x: F.instance_norm(x), [_X4]),
    "sigmoid": (F.sigmoid, [_X2]),
    "tanh": (F.tanh, [_X2]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.3), [_X2]),
    "prelu": (F.prelu, [_X4, np.array([0.2, -0.4])]),
    "silu": (F.silu, [_X2]),
    "softmax": (lambda x: F.softmax(x, dim=1), [_X2]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=0), [_X2]),
    "cross_entropy_probs": (lambda x, p: F.cross_entropy(x, p, label_smoothing=0.2), [_X2, _T2]),
    "bce": (lambda p, t: F.binary_cross_entropy(p, t), [_R.uniform(0.1, 0.9, (3, 4)), _T2]),
    "mse": (F.mse_loss, [_X2, _T2]),
    "l1": (F.l1_loss, [_X2, _T2]),
    "focal": (lambda x, t: F.sigmoid_focal_loss(x, t, reduction="mean"), [_X2, _T2]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_OPS))
def test_gradcheck_every_op(name) -> None:
    fn, arrays = GRADCHECK_OPS[name]
    inputs = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert gradcheck(fn, inputs)


def test_gradcheck_on_a_non_contiguous_input() -> None:
    # regression: the finite differences perturbed x.reshape(-1), a copy for a transposed array, so the
    # numerical Jacobian was 0 and a correct backward was reported wrong
    x = np.random.default_rng(2).standard_normal((3, 4)).T  # [4, 3], not C-contiguous
    assert gradcheck(lambda t: (t * t).sum(axis=0), [Tensor(x, requires_grad=True)])
    with pytest.raises(GradcheckError):
        gradcheck(_WrongSquare.apply, [Tensor(x, requires_grad=True)])
    np.testing.assert_array_equal(x, np.random.default_rng(2).standard_normal((3, 4)).T)  # restored
