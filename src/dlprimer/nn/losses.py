"""Classification and regression losses for detection (notes: "Balanced Cross Entropy", "Focal Loss",
"smooth L1 loss"); the IoU-family box losses live in :mod:`dlprimer.nn.iou_losses` and are re-exported.

* ``sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2)`` – RetinaNet's
  ``FL = -α_t (1 - p_t)^γ log(p_t)`` on logits (Lin et al., ICCV 2017), torchvision's conventions
  (``alpha = -1`` disables the α weighting; reduction default ``"none"``).
* ``balanced_bce(logits, targets, alpha=None)`` – ``-α y log p - (1 - α)(1 - y) log(1 - p)``; with
  ``alpha=None`` α follows the notes' rule ``α / (1 - α) = n / m`` (``m`` positives, ``n`` negatives),
  i.e. ``α = n / (m + n)``, the fraction of negatives, so both classes contribute equally.
* ``smooth_l1_loss(input, target, beta=1.0)`` – ``0.5 x² / β`` if ``|x| < β`` else ``|x| - 0.5 β``
  (Fast R-CNN; the notes' formula is the case ``β = 1``); ``β = 0`` is the L1 loss, as in torch.

All work on logits (never a manual sigmoid then log, which overflows), accept any shape, and reduce with
``"none"`` | ``"mean"`` | ``"sum"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dlprimer.boxes.checks import check_number, check_reduction, check_same_shape, check_tensor
from dlprimer.nn.iou_losses import REDUCTIONS, ciou_loss, diou_loss, giou_loss, iou_loss, reduce_loss

__all__ = [
    "balanced_bce",
    "ciou_loss",
    "diou_loss",
    "giou_loss",
    "iou_loss",
    "sigmoid_focal_loss",
    "smooth_l1_loss",
]


def _pair(inputs: Tensor, targets: Tensor, a: str, b: str) -> tuple[Tensor, Tensor]:
    inputs = check_tensor(inputs, a)
    targets = check_tensor(targets, b)
    check_same_shape(inputs, targets, a, b)
    if not inputs.is_floating_point():
        raise TypeError(f"{a} must be a floating tensor, got dtype {inputs.dtype}")
    return inputs, targets.to(inputs.dtype)


def sigmoid_focal_loss(
    inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "none"
) -> Tensor:
    """Focal loss on logits ``inputs`` against binary (or soft) ``targets`` of the same shape.

    ``p = σ(x)``, ``p_t = p y + (1 - p)(1 - y)``, ``α_t = α y + (1 - α)(1 - y)``,
    ``FL = α_t (1 - p_t)^γ · BCEWithLogits(x, y)``. ``alpha`` in ``[0, 1]`` or ``-1`` (no weighting);
    ``gamma >= 0`` (``γ = 0`` with ``alpha = -1`` is plain BCE).
    """
    inputs, targets = _pair(inputs, targets, "inputs", "targets")
    alpha = check_number(alpha, "alpha")
    if not (0.0 <= alpha <= 1.0 or alpha == -1.0):
        raise ValueError(f"alpha must be in [0, 1] or -1 (no weighting), got {alpha}")
    gamma = check_number(gamma, "gamma", low=0.0)
    check_reduction(reduction, tuple(REDUCTIONS))
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return reduce_loss(loss, reduction)


def balanced_bce(logits: Tensor, targets: Tensor, alpha: float | None = None, reduction: str = "mean") -> Tensor:
    """α-balanced binary cross-entropy on logits.

    ``loss_i = -α y_i log σ(x_i) - (1 - α)(1 - y_i) log(1 - σ(x_i))``. With ``alpha=None``,
    ``α = n / (m + n)`` where ``m = Σ y`` (positives) and ``n = N - m`` (negatives), the notes' rule
    ``α / (1 - α) = n / m``; if there are no positives (or no negatives) α is 0 (or 1) and the absent
    class simply has no term. ``alpha`` must lie in ``[0, 1]``; ``"mean"`` divides by ``N`` as in the
    notes' formula.
    """
    logits, targets = _pair(logits, targets, "logits", "targets")
    check_reduction(reduction, tuple(REDUCTIONS))
    if alpha is None:
        n_total = targets.numel()
        a = (n_total - targets.sum()) / n_total if n_total else targets.new_tensor(0.5)
        a = a.detach()
    else:
        a = check_number(alpha, "alpha", low=0.0, high=1.0)
    weight = a * targets + (1 - a) * (1 - targets)
    loss = F.binary_cross_entropy_with_logits(logits, targets, weight=weight, reduction="none")
    return reduce_loss(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, beta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Smooth L1 (Huber-like) loss; ``beta >= 0`` is where it turns from quadratic to linear."""
    input, target = _pair(input, target, "input", "target")
    beta = check_number(beta, "beta", low=0.0)
    check_reduction(reduction, tuple(REDUCTIONS))
    x = (input - target).abs()
    if beta == 0.0:
        return reduce_loss(x, reduction)
    loss = torch.where(x < beta, 0.5 * x**2 / beta, x - 0.5 * beta)
    return reduce_loss(loss, reduction)
