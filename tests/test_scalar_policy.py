"""One argument-check policy over the public API below ``train``: every number accepts Python and NumPy
scalars of its kind; a wrong type raises ``TypeError``, a wrong value ``ValueError``, both naming the argument.

Each case is ``(label, call, good values, bad types, bad values, argument name)``; ``call(v)`` passes ``v`` to
the one argument under test and must succeed for every good value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlprimer import augment as A
from dlprimer import boxes as B
from dlprimer import metrics as M
from dlprimer import schedules as S
from dlprimer.nn.iou_losses import giou_loss
from dlprimer.nn.losses import sigmoid_focal_loss
from dlprimer.scratch import init as scratch_init
from dlprimer.scratch.ops.dropout import dropout
from dlprimer.scratch.ops.pool import max_pool2d

PROB = [0.5, 0, 1, np.float32(0.5), np.float64(0.25), np.int64(1), np.int32(0)]
POS_FLOAT = [0.1, 2, np.float32(0.1), np.float64(0.1), np.int64(3), np.int32(1)]
POS_INT = [3, np.int64(3), np.int32(3)]
NOT_NUMBER = ["0.5", None, True, np.bool_(True), [0.5]]
NOT_INT = [3.0, np.float32(3.0), "3", True, np.bool_(True), None]

_BOXES = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
_SCORES = torch.tensor([0.9, 0.8, 0.7])
_IMAGE = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
_SAMPLE = {"image": _IMAGE, "boxes": torch.tensor([[2.0, 2.0, 9.0, 9.0]]), "labels": torch.tensor([1])}


def _flip(p):
    return A.RandomHorizontalFlip(p=p)(dict(_SAMPLE), torch.Generator().manual_seed(0))


CASES = [
    ("RandomHorizontalFlip.p", _flip, PROB, NOT_NUMBER, [-0.1, 1.5, np.float32(2), float("nan")], "p"),
    ("RandomVerticalFlip.p", lambda p: A.RandomVerticalFlip(p=p), PROB, NOT_NUMBER, [np.float64(-1)], "p"),
    ("RandomErasing.p", lambda p: A.RandomErasing(p=p), PROB, NOT_NUMBER, [1.01], "p"),
    ("RandomCrop.min_visibility", lambda v: A.RandomCrop(min_visibility=v), PROB, NOT_NUMBER, [2], "min_visibility"),
    ("MixUp.alpha", lambda a: A.MixUp(alpha=a), POS_FLOAT, NOT_NUMBER, [-1, np.float32(-0.5)], "alpha"),
    ("MixUp.label_smoothing", lambda e: A.MixUp(label_smoothing=e), PROB, NOT_NUMBER, [3], "label_smoothing"),
    ("RandomRotation.degrees", lambda d: A.RandomRotation(degrees=d), POS_FLOAT, NOT_NUMBER[:3], [-5], "degrees"),
    ("Resize.size", lambda n: A.Resize((n, n)), POS_INT, NOT_INT[:3], [0, np.int64(-2)], "size"),
    ("build_schedule.base_lr", lambda v: S.build_schedule("cosine", v, 10), POS_FLOAT, NOT_NUMBER, [0, -1.0],
     "base_lr"),
    ("build_schedule.total_steps", lambda n: S.build_schedule("cosine", 0.1, n), POS_INT, NOT_INT, [0], "total_steps"),
    ("build_schedule.warmup_steps", lambda n: S.build_schedule("step", 0.1, 10, warmup_steps=n), POS_INT,
     NOT_INT, [-1, np.int64(10)], "warmup_steps"),
    ("StepDecay.step_size", lambda n: S.StepDecay(0.1, n), POS_INT, NOT_INT, [0, np.int32(-3)], "step_size"),
    ("CosineDecay.min_lr", lambda v: S.CosineDecay(0.1, 10, min_lr=v), [0, np.float32(0.01)], NOT_NUMBER,
     [-0.1, float("inf")], "min_lr"),
    ("schedule step", lambda t: S.Constant(0.1)(t), [0, 5, np.int64(5), np.int32(0)], NOT_INT, [-1], "step"),
    ("nms.iou_threshold", lambda t: B.nms(_BOXES, _SCORES, t), PROB, NOT_NUMBER, [-0.1], "iou_threshold"),
    ("soft_nms.sigma", lambda s: B.soft_nms(_BOXES, _SCORES, sigma=s, method="gaussian"), POS_FLOAT,
     NOT_NUMBER, [0, -1], "sigma"),
    ("distance_box_iou.eps", lambda e: B.distance_box_iou(_BOXES, _BOXES, eps=e), [0, 1e-7, np.float32(1e-7)],
     NOT_NUMBER, [-1], "eps"),
    ("giou_loss.eps", lambda e: giou_loss(_BOXES, _BOXES, eps=e), [0, np.float64(1e-7)], NOT_NUMBER, [-1], "eps"),
    ("sigmoid_focal_loss.gamma", lambda g: sigmoid_focal_loss(torch.zeros(3), torch.ones(3), gamma=g),
     [0, 2, np.float32(2.0), np.int64(2)], NOT_NUMBER, [-1], "gamma"),
    ("roi_align.spatial_scale", lambda s: B.roi_align(_IMAGE[None], [_BOXES], 2, spatial_scale=s), POS_FLOAT,
     NOT_NUMBER, [0, -1], "spatial_scale"),
    ("roi_align.sampling_ratio", lambda n: B.roi_align(_IMAGE[None], [_BOXES], 2, sampling_ratio=n), POS_INT,
     NOT_INT[:3], [], "sampling_ratio"),  # any int: <= 0 is adaptive, as torchvision
    ("pr_curve.num_positives", lambda n: M.pr_curve([0.9, 0.1], [1, 0], num_positives=n), POS_INT, NOT_INT[:5],
     [-1], "num_positives"),
    ("confusion_matrix.num_classes", lambda n: M.confusion_matrix([0, 1], [1, 0], num_classes=n), POS_INT,
     NOT_INT[:5], [0], "num_classes"),
    ("precision_recall_f1.zero_division", lambda z: M.precision_recall_f1([0, 1], [1, 1], zero_division=z),
     [0.0, 1, np.float32(1.0), np.float64(np.nan)], ["0", None, True], [0.5], "zero_division"),
    ("scratch dropout.p", lambda p: dropout(np.ones((2, 2)), p=p, generator=np.random.default_rng(0)), PROB,
     NOT_NUMBER, [1.5], "p"),
    ("scratch max_pool2d.kernel_size", lambda k: max_pool2d(np.ones((1, 1, 6, 6)), k), POS_INT, NOT_INT[:3],
     [0], "kernel_size"),
    ("scratch calculate_gain.param", lambda a: scratch_init.calculate_gain("leaky_relu", a),
     [0.2, 0, np.float32(0.2), np.int64(0)], ["0.2", True], [float("nan")], "param"),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_and_numpy_scalars_accepted(case):
    _, call, good, _, _, _ = case
    for v in good:
        call(v)  # must not raise


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_type_is_type_error_naming_the_argument(case):
    _, call, _, bad_types, _, name = case
    for v in bad_types:
        with pytest.raises(TypeError, match=name):
            call(v)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_value_is_value_error_naming_the_argument(case):
    _, call, _, _, bad_values, name = case
    for v in bad_values:
        with pytest.raises(ValueError, match=name):
            call(v)


def test_numpy_scalars_give_the_same_results_as_python_scalars():
    """Not only accepted: a NumPy scalar computes what the equal Python scalar computes."""
    s_np, s_py = S.build_schedule("cosine", np.float32(0.5), np.int64(20)), S.build_schedule("cosine", 0.5, 20)
    assert [s_np(t) for t in range(20)] == [s_py(t) for t in range(20)]
    assert type(s_np.base_lr) is float and type(s_np.total_steps) is int
    assert torch.equal(B.nms(_BOXES, _SCORES, np.float32(0.05)), B.nms(_BOXES, _SCORES, 0.05))
    assert A.RandomHorizontalFlip(p=np.float32(0.5)).p == 0.5
