"""The torch training backend: one epoch of the notes' 模型更新流程, step by step.

Per batch (``train_epoch``):

1. take a batch from the ``DataLoader`` (shuffled by a generator seeded with ``(seed, epoch)``);
2. augment it (random shifts) and move it to the device;
3. forward under autocast when AMP is on (bf16 on CPU; fp16 on CUDA) and compute the loss;
4. ``optimizer.zero_grad()``, then backward (through the ``GradScaler`` on CUDA fp16);
5. unscale the gradients (so clipping sees their true size), then clip their global norm if asked;
6. ``optimizer.step()`` (the scaler skips the step if it found inf/NaN) and ``scaler.update()``;
7. ``schedule.step()``: the learning rate for the next batch (schedules step per batch).

Seeding each epoch from ``(seed, epoch)`` rather than from a running RNG is what makes ``--resume``
reproduce an uninterrupted run exactly: epoch ``e`` sees the same batches and shifts either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer import models, schedules
from dlprimer.data.digits import DigitsSplits
from dlprimer.nn.init import init_weights
from dlprimer.train.config import TrainConfig
from dlprimer.train.shift import random_shift


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU raises ``ValueError``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but torch.cuda.is_available() is False; use --device cpu")
    return torch.device(name)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` (shuffling, shifts, dropout) derived from the run seed."""
    return (seed * 1_000_003 + epoch * 7_919 + 17) % (2**63)


def build_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """SGD (momentum, nesterov, weight decay), Adam or AdamW (decoupled weight decay) by name."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


class TorchEngine:
    """Model, optimizer, schedule and AMP state of a torch run on the embedded digits."""

    def __init__(self, config: TrainConfig, data: DigitsSplits, device: torch.device) -> None:
        from dlprimer.data._tensor_dataset import ArrayDataset

        self.config = config
        self.device = device
        self.fill = float(-data.mean / data.std)  # the normalized value of a blank pixel
        self.train_set = ArrayDataset(data.train.images, data.train.labels)
        self.generator = torch.Generator()
        self.loader = torch.utils.data.DataLoader(
            self.train_set, batch_size=config.batch_size, shuffle=True, generator=self.generator, drop_last=False
        )
        self.steps_per_epoch = len(self.loader)
        model = models.create(config.model, num_classes=10, in_channels=data.train.images.shape[1])
        self.model = init_weights(model, config.init, nonlinearity="relu").to(device)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.schedule = schedules.build_schedule(
            config.schedule, config.lr, config.epochs * self.steps_per_epoch,
            warmup_steps=min(config.warmup * self.steps_per_epoch, config.epochs * self.steps_per_epoch - 1),
        )
        self.adapter = schedules.ScheduleAdapter(self.optimizer, self.schedule)
        self.amp_dtype = (torch.float16 if device.type == "cuda" else torch.bfloat16) if config.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")

    # ------------------------------------------------------------------------------------------ training
    def train_epoch(self, epoch: int, on_batch: Callable[[int, float], None] | None = None) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        self.generator.manual_seed(epoch_seed(cfg.seed, epoch))
        torch.manual_seed(epoch_seed(cfg.seed, epoch))  # dropout and any other global draws
        total_loss, correct, seen = 0.0, 0, 0
        lr = self.adapter.get_last_lr()[0]
        for i, (images, labels) in enumerate(self.loader):  # 1. a batch
            images = random_shift(images, cfg.shift, self.generator, self.fill)  # 2. augment, move
            images, labels = images.to(self.device), labels.to(self.device)
            with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                                enabled=self.amp_dtype is not None):  # 3. forward (+ AMP)
                logits = self.model(images)
                loss = self.criterion(logits.float(), labels)
            self.optimizer.zero_grad(set_to_none=True)  # 4. backward
            self.scaler.scale(loss).backward()
            if cfg.clip_grad is not None:  # 5. unscale, then clip
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
            lr = self.adapter.get_last_lr()[0]
            self.scaler.step(self.optimizer)  # 6. step
            self.scaler.update()
            self.adapter.step()  # 7. next batch's learning rate
            n = labels.shape[0]
            total_loss += float(loss.detach()) * n
            correct += int((logits.argmax(1) == labels).sum())
            seen += n
            if on_batch is not None:
                on_batch(i, float(loss.detach()))
        return {"train_loss": total_loss / seen, "train_accuracy": correct / seen, "lr": lr}

    # ---------------------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def logits(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Logits ``[N, 10]`` (float64) of normalized images ``[N, C, H, W]`` in eval mode."""
        self.model.eval()
        out = []
        for start in range(0, images.shape[0], batch_size):
            x = torch.tensor(np.asarray(images[start:start + batch_size]), dtype=torch.float32)
            out.append(self.model(x.to(self.device)).double().cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, 10))

    # ---------------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.adapter.state_dict(),
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.adapter.load_state_dict(state["schedule"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
