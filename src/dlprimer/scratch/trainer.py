"""A NumPy training loop for the scratch engine (used by ``dlprimer train --engine scratch``).

One epoch, top to bottom, per batch:

1. set the learning rate (``lr`` a number, or a function of the global step, e.g. a cosine schedule)
   and augment the batch if asked;
2. forward: logits = model(images) in training mode;
3. loss = cross_entropy(logits, labels, label_smoothing);
4. backward: zero the gradients, ``loss.backward()``;
5. ``optimizer.step()``;
6. accumulate the summed loss and the number of correct predictions.

Evaluation runs in ``eval()`` mode under ``no_grad`` in batches and restores the previous mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.scratch import functional as F
from dlprimer.scratch.autograd import Tensor, no_grad
from dlprimer.scratch.nn import Module
from dlprimer.scratch.optim import Optimizer


def train_one_epoch(model: Module, loader: Iterable[tuple[NDArray[Any], NDArray[Any]]], optimizer: Optimizer,
                    lr: float | Callable[[int], float] | None = None, label_smoothing: float = 0.0,
                    start_step: int = 0,
                    augment: Callable[[NDArray[Any]], NDArray[Any]] | None = None) -> dict[str, float]:
    """Train ``model`` for one pass over ``loader`` (batches of ``(images [B, C, H, W] float, labels [B] int)``).

    Args:
        lr: a constant learning rate for every parameter group, a function ``global_step → lr`` evaluated
            before each batch (``global_step = start_step + batch index``), or None to leave it unchanged.
        label_smoothing: ε of the cross-entropy.
        start_step: the global step of this epoch's first batch.
        augment: optional ``images → images`` applied to each training batch (e.g.
            ``lambda x: data.random_shift(x, 2, rng)``).

    Returns:
        ``{"loss": mean training loss per sample, "accuracy": fraction correct, "steps": batches run,
        "samples": samples seen, "lr": the last learning rate used}``.
    """
    model.train()
    total_loss, correct, seen, steps = 0.0, 0, 0, 0
    current_lr = float(optimizer.param_groups[0]["lr"])
    for images, labels in loader:
        # 1. learning rate
        if lr is not None:
            current_lr = float(lr(start_step + steps)) if callable(lr) else float(lr)
            for group in optimizer.param_groups:
                group["lr"] = current_lr
        # 2.–3. forward and loss
        if augment is not None:
            images = augment(images)
        logits = model(Tensor(images))
        loss = F.cross_entropy(logits, np.asarray(labels), label_smoothing=label_smoothing)
        # 4.–5. backward and update
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # 6. bookkeeping
        n = len(labels)
        total_loss += float(loss.item()) * n
        correct += int((logits.data.argmax(axis=1) == labels).sum())
        seen += n
        steps += 1
    if seen == 0:
        raise ValueError("loader yielded no batches")
    return {"loss": total_loss / seen, "accuracy": correct / seen, "steps": steps, "samples": seen,
            "lr": current_lr}


def evaluate(model: Module, images: NDArray[Any], labels: NDArray[Any], batch_size: int = 256,
             label_smoothing: float = 0.0) -> dict[str, Any]:
    """Loss, accuracy and predictions of ``model`` on ``images [N, C, H, W]`` / ``labels [N]`` (eval mode).

    Returns ``{"loss": mean cross-entropy, "accuracy": fraction correct, "predictions": int64 [N]}``.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"images and labels must be non-empty and of equal length, got {images.shape} and "
                         f"{labels.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    was_training = model.training
    model.eval()
    total, preds = 0.0, []
    try:
        with no_grad():
            for s in range(0, len(images), batch_size):
                logits = model(Tensor(images[s : s + batch_size]))
                y = labels[s : s + batch_size]
                total += float(F.cross_entropy(logits, y, reduction="sum", label_smoothing=label_smoothing).item())
                preds.append(logits.data.argmax(axis=1))
    finally:
        model.train(was_training)
    predictions = np.concatenate(preds).astype(np.int64)
    return {"loss": total / len(images), "accuracy": float((predictions == labels).mean()),
            "predictions": predictions}
