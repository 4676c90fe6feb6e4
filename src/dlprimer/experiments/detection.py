"""Detection experiments (notes: IOU的介绍及其变形介绍, Anchor-free与Anchor-based区别).

``anchor-free-vs-anchor-based`` needs the detectors of :mod:`dlprimer.models.detection`; where that package is
absent the experiment is listed but reports that it needs ``dlprimer detect``.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch
from torch import nn

from dlprimer.experiments._common import figure
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.registry import register

TOPIC = "detection"
SECTION_AF = "Anchor-freeAnchor-based区别"


def _boxes(params: torch.Tensor) -> torch.Tensor:
    """``[N, 4]`` (cx, cy, log w, log h) → xyxy."""
    cx, cy, lw, lh = params.unbind(1)
    w, h = lw.exp(), lh.exp()
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def _iou_regression(seed: int, quick: bool) -> Measurement:
    """A small version of the DIoU paper's simulation (Zheng et al., AAAI 2020, section 3): anchors of several
    scales and aspect ratios at points around one target regress towards it by gradient descent on each loss."""
    from dlprimer.boxes.iou import box_iou
    from dlprimer.nn import iou_losses

    rng = np.random.default_rng(seed)
    n_points = 40 if quick else 400
    steps = 100 if quick else 400
    radius = rng.uniform(0, 3, n_points)
    angle = rng.uniform(0, 2 * np.pi, n_points)
    centres = np.stack([10 + radius * np.cos(angle), 10 + radius * np.sin(angle)], 1)
    shapes = [(s * np.sqrt(r), s / np.sqrt(r)) for s in (0.5, 1.0, 2.0) for r in (0.5, 1.0, 2.0)]
    init = np.array([[cx, cy, np.log(w), np.log(h)] for cx, cy in centres for w, h in shapes])
    target = torch.tensor([[9.5, 9.0, 10.5, 11.0]], dtype=torch.float64).expand(len(init), 4)
    losses = {"iou": iou_losses.iou_loss, "giou": iou_losses.giou_loss, "diou": iou_losses.diou_loss,
              "ciou": iou_losses.ciou_loss}
    numbers: dict[str, float] = {}
    fig, ax = figure()
    start_iou = box_iou(_boxes(torch.from_numpy(init)), target[:1])[:, 0]
    apart = start_iou == 0
    numbers["fraction_starting_without_overlap"] = float(apart.double().mean())
    for label, fn in losses.items():
        p = torch.from_numpy(init.copy()).requires_grad_(True)
        errors = []
        for t in range(steps):
            loss = fn(_boxes(p), target, reduction="sum")
            grad, = torch.autograd.grad(loss, p)
            if t == 0:
                numbers[f"max_grad_norm_without_overlap_{label}"] = float(grad[apart].norm(dim=1).max())
            with torch.no_grad():
                p -= 0.1 * grad
                iou = _pair_iou(_boxes(p), target)
            errors.append(float((1 - iou).mean()))
        numbers[f"final_error_{label}"] = errors[-1]
        ax.semilogy(errors, label=label)
    numbers["error_ratio_giou_over_iou"] = numbers["final_error_giou"] / numbers["final_error_iou"]
    numbers["error_ratio_diou_over_giou"] = numbers["final_error_diou"] / numbers["final_error_giou"]
    ax.set(xlabel="iteration", ylabel="mean 1 − IoU", title=f"{len(init)} anchors regressing to one target")
    ax.legend()
    return Measurement(numbers, {"regression": fig})


def _pair_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    from dlprimer.nn.iou_losses import iou_loss

    return 1 - iou_loss(a, b)


register(Experiment(
    name="iou-loss-regression", topic=TOPIC, section="IOU的介绍及其变形介绍",
    claim_zh="当两个框没有相交时, IoU=0, 不能反映两者的距离大小, 没有梯度回传, 无法进行学习任务; "
             "DIoU ... 可以直接最小化两个目标框的距离,收敛更快",
    claim_en="IoU loss gives no gradient to non-overlapping boxes; GIoU fixes that and DIoU converges faster "
             "than GIoU.",
    setup="DIoU-paper-style simulation: 9 anchor shapes at random points within 3 units of one 1×2 target (quick 40 "
          "points, 100 steps;\nfull 400 points, 400 steps), gradient descent (lr 0.1) on (cx, cy, log w, log h) "
          "with each loss of dlprimer.nn.iou_losses.",
    criterion=Criterion((
        Condition("max_grad_norm_without_overlap_iou", "<", 1e-12, "IoU loss: no gradient without overlap"),
        Condition("error_ratio_giou_over_iou", "<", 0.8, "GIoU ends with a lower error than IoU"),
        Condition("error_ratio_diou_over_giou", "<", 1.0, "DIoU ends lower than GIoU"),
    )),
    measure=_iou_regression,
))


def _head_params(in_channels: int, anchors: int, classes: int) -> int:
    """Parameters of a YOLO-style prediction layer: a 1×1 conv to ``anchors × (4 + 1 + classes)`` outputs."""
    return sum(p.numel() for p in nn.Conv2d(in_channels, anchors * (5 + classes), 1).parameters())


def _anchor_free_params(seed: int, quick: bool) -> Measurement:
    from dlprimer.models import create

    del seed, quick
    backbone = create("resnet18", num_classes=10)
    trunk = sum(p.numel() for name, p in backbone.named_parameters() if not name.startswith("fc."))
    classes, levels = 80, (128, 256, 512)  # a three-level head, one prediction layer per level
    based = sum(_head_params(c, 3, classes) for c in levels)
    free = sum(_head_params(c, 1, classes) for c in levels)
    numbers = {
        "params_backbone": float(trunk),
        "params_prediction_anchor_based": float(based),
        "params_prediction_anchor_free": float(free),
        "prediction_param_ratio_free_over_based": free / based,
        "model_param_ratio_free_over_based": (trunk + free) / (trunk + based),
    }
    fig, ax = figure()
    ax.bar(["backbone", "pred. (3 anchors)", "pred. (anchor-free)"], [trunk, based, free])
    ax.set(ylabel="parameters", title="where the parameters are (ResNet-18 trunk, 80 classes)")
    return Measurement(numbers, {"params": fig})


register(Experiment(
    name="anchor-free-params", topic=TOPIC, section=SECTION_AF,
    claim_zh="Anchor-free要比Anchor-based少2/3的参数量, "
             "因为Anchor-based一个位置要预测3个长宽不同的bbox, 而free只预测一个",
    claim_en="An anchor-free detector has 2/3 fewer parameters than an anchor-based one.",
    setup="ResNet-18 trunk (dlprimer.models) + three-level 1×1 prediction layers (128/256/512 channels, 80 classes): "
          "3 anchors × (5 + C)\noutputs per position vs 1 × (5 + C); parameters of the prediction layers and of "
          "the whole model.",
    criterion=Criterion((
        Condition("model_param_ratio_free_over_based", "<", 0.4, "the whole anchor-free model has ≤ 1/3 the "
                                                                 "parameters (up to rounding)"),
    )),
    measure=_anchor_free_params,
))

_HAS_DETECTORS = importlib.util.find_spec("dlprimer.models.detection") is not None


def _detectors(seed: int, quick: bool) -> Measurement:  # pragma: no cover - only with dlprimer.models.detection
    from dlprimer.models import detection

    del seed, quick
    counts = {}
    for name in ("yolo", "fcos"):
        model = detection.create(name, num_classes=10, in_channels=1, image_size=64)
        counts[name] = sum(p.numel() for p in model.parameters())
    numbers = {
        "params_yolo": float(counts["yolo"]),
        "params_fcos": float(counts["fcos"]),
        "param_ratio_fcos_over_yolo": counts["fcos"] / counts["yolo"],
    }
    fig, ax = figure()
    ax.bar(["yolo (anchor-based)", "fcos (anchor-free)"], [counts["yolo"], counts["fcos"]])
    ax.set(ylabel="parameters", title="dlprimer detectors, 10 classes")
    return Measurement(numbers, {"detectors": fig})


register(Experiment(
    name="anchor-free-vs-anchor-based", topic=TOPIC, section=SECTION_AF,
    claim_zh="Anchor-free要比Anchor-based少2/3的参数量",
    claim_en="Comparing dlprimer's anchor-free (FCOS) and anchor-based (YOLO) detectors: the anchor-free one has "
             "2/3 fewer parameters.",
    setup="dlprimer.models.detection: yolo vs fcos built for 10 classes, 1 channel, 64×64 images; whole-model "
          "parameters.\n(Training both and comparing COCO AP belongs to `dlprimer detect compare`.)",
    criterion=Criterion((
        Condition("param_ratio_fcos_over_yolo", "<", 0.4, "the anchor-free detector has ≤ 1/3 the parameters"),
    )),
    measure=_detectors,
    requires=None if _HAS_DETECTORS else
    "needs dlprimer detect (the package dlprimer.models.detection is not installed on this branch)",
))
