"""Label smoothing targets (notes: Label-smooth详解), usable with any loss that takes soft targets.

For ``K`` classes and smoothing ``ε``, the target distribution of a sample of class ``y`` is

    q_i = 1 - ε + ε / K   if i = y,        q_i = ε / K   otherwise,

i.e. ``q = (1 - ε) one_hot(y) + ε / K`` (the notes' formula, with their N = K). Cross-entropy against ``q``
equals ``torch.nn.functional.cross_entropy(logits, y, label_smoothing=ε)``.

Correction to the notes: their optimal-logit formula ``z_y - z_i = log((K - 1)(1 - ε) / ε)`` belongs to the
other convention ``q_y = 1 - ε, q_i = ε / (K - 1)``. With the q above the minimiser of the cross-entropy has
``softmax(z) = q``, i.e. ``z_y - z_i = log(q_y / q_i) = log(1 + K (1 - ε) / ε)``. And the loss does not become
"(1 - ε) Loss or ε Loss": it is ``(1 - ε) CE(y) + ε mean_i(-log p_i)``.

Smoothing is never implicit in dlprimer: mixup and cutmix produce unsmoothed targets unless a
``label_smoothing`` is passed to them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.augment._checks import check_probability

__all__ = ["optimal_logit_gap", "smooth_labels", "soft_target_cross_entropy"]


def smooth_labels(
    labels: Tensor, num_classes: int | None = None, epsilon: float = 0.1, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Smoothed targets ``[N, K]``: ``(1 - ε) t + ε / K``, ``t`` the one-hot of integer ``labels [N]`` (then
    ``num_classes`` is required) or given soft targets ``[N, K]`` (rows summing to 1). Rows sum to 1.
    """
    eps = check_probability(epsilon, "epsilon")
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.is_floating_point():
        if labels.ndim != 2:
            raise ValueError(f"soft labels must have shape [N, K], got {tuple(labels.shape)}")
        if num_classes is not None and labels.shape[1] != num_classes:
            raise ValueError(f"soft labels have {labels.shape[1]} classes, num_classes is {num_classes}")
        t = labels
    else:
        if labels.ndim != 1:
            raise ValueError(f"integer labels must have shape [N], got {tuple(labels.shape)}")
        if not is_int_like(num_classes) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int for integer labels, got {num_classes!r}")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise ValueError(
                f"labels must lie in [0, {num_classes - 1}], got range [{int(labels.min())}, {int(labels.max())}]"
            )
        t = torch.nn.functional.one_hot(labels.long(), num_classes).to(dtype)
    k = t.shape[1]
    return t * (1.0 - eps) + eps / k


def soft_target_cross_entropy(logits: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
    """``-sum_i q_i log softmax(z)_i`` per row, for soft targets ``[N, K]`` (e.g. from mixup or smoothing)."""
    if logits.shape != targets.shape or logits.ndim != 2:
        raise ValueError(f"logits and targets must both be [N, K], got {tuple(logits.shape)}, {tuple(targets.shape)}")
    loss = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1)  # [N]
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def optimal_logit_gap(num_classes: int, epsilon: float) -> float:
    """``z_y - z_i`` of the logits minimising cross-entropy against the smoothed targets:
    ``log(1 + K (1 - ε) / ε)`` (infinite for ``ε = 0``)."""
    eps = check_probability(epsilon, "epsilon")
    if eps == 0:
        return float("inf")
    return float(torch.log1p(torch.tensor(num_classes * (1.0 - eps) / eps, dtype=torch.float64)))
