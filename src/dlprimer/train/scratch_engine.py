"""The NumPy backend of ``dlprimer train --engine scratch``: the same job on :mod:`dlprimer.scratch`.

It has the interface of :class:`dlprimer.train.torch_engine.TorchEngine` (``steps_per_epoch``,
``train_epoch``, ``logits``, ``state_dict``, ``load_state_dict``), so :func:`dlprimer.train.fit` writes the
same run folder. Differences, by design: the model is the scratch LeNet-5 (same parameter names as the torch
one), initialized with :mod:`dlprimer.scratch.init` from a NumPy generator seeded by the run seed; optimizers
are :mod:`dlprimer.scratch.optim` (torch's update rules); shuffling and shifts come from a NumPy generator
seeded per epoch (shifts replicate the edge pixels, the background); no AMP, no gradient clipping, CPU only.
Checkpoints hold the NumPy arrays as torch
tensors, so they load with ``weights_only=True`` like the torch engine's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from dlprimer import schedules
from dlprimer.data.digits import DigitsSplits
from dlprimer.scratch import init as sinit
from dlprimer.scratch import models as smodels
from dlprimer.scratch import optim as soptim
from dlprimer.scratch.data import DataLoader, TensorDataset, random_shift
from dlprimer.scratch.trainer import evaluate as s_evaluate
from dlprimer.scratch.trainer import train_one_epoch
from dlprimer.train.config import TrainConfig
from dlprimer.train.torch_engine import epoch_seed

_INITS: dict[str, Callable[[Any, np.random.Generator], Any] | None] = {
    "xavier_uniform": lambda w, g: sinit.xavier_uniform_(w, gain=1.0, generator=g),
    "xavier_normal": lambda w, g: sinit.xavier_normal_(w, gain=1.0, generator=g),
    "kaiming_uniform": lambda w, g: sinit.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu", generator=g),
    "kaiming_normal": lambda w, g: sinit.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=g),
    "normal": lambda w, g: sinit.normal_(w, 0.0, 0.01, generator=g),
    "zeros": lambda w, g: sinit.zeros_(w),
    "default": None,
}


def _to_torch(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.array(obj))
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_torch(v) for v in obj)
    return obj


def _to_numpy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.numpy().copy()
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_numpy(v) for v in obj)
    return obj


class ScratchEngine:
    """Model, optimizer and schedule of a NumPy-engine run on the embedded digits."""

    def __init__(self, config: TrainConfig, data: DigitsSplits) -> None:
        self.config = config
        self.train_images = np.asarray(data.train.images, dtype=np.float32)
        self.train_labels = np.asarray(data.train.labels)
        n = self.train_labels.shape[0]
        self.steps_per_epoch = -(-n // config.batch_size)
        gen = np.random.default_rng(config.seed)
        self.model = smodels.lenet5(num_classes=10, in_channels=self.train_images.shape[1], generator=gen)
        fill = _INITS[config.init]
        if fill is not None:
            for name, p in self.model.named_parameters():
                if name.endswith("weight"):
                    fill(p, gen)
                else:
                    sinit.zeros_(p)
        params = list(self.model.parameters())
        if config.optimizer == "sgd":
            self.optimizer = soptim.SGD(params, lr=config.lr, momentum=config.momentum,
                                        nesterov=config.nesterov and config.momentum > 0,
                                        weight_decay=config.weight_decay)
        elif config.optimizer == "adam":
            self.optimizer = soptim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            self.optimizer = soptim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        total = config.epochs * self.steps_per_epoch
        self.schedule = schedules.build_schedule(config.schedule, config.lr, total,
                                                 warmup_steps=min(config.warmup * self.steps_per_epoch, total - 1))

    def train_epoch(self, epoch: int, on_batch: Callable[[int, float], None] | None = None) -> dict[str, float]:
        cfg = self.config
        rng = np.random.default_rng(epoch_seed(cfg.seed, epoch))
        images = random_shift(self.train_images, cfg.shift, rng)  # edge-replicating shifts
        loader = DataLoader(TensorDataset(images, self.train_labels), batch_size=cfg.batch_size, shuffle=True,
                            generator=rng)
        out = train_one_epoch(self.model, loader, self.optimizer, lr=self.schedule,
                              label_smoothing=cfg.label_smoothing, start_step=(epoch - 1) * self.steps_per_epoch)
        if on_batch is not None:
            on_batch(out["steps"] - 1, out["loss"])
        return {"train_loss": out["loss"], "train_accuracy": out["accuracy"], "lr": out["lr"]}

    def logits(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        from dlprimer.scratch.autograd import Tensor, no_grad

        self.model.eval()
        out = []
        with no_grad():
            for start in range(0, images.shape[0], batch_size):
                out.append(self.model(Tensor(np.asarray(images[start:start + batch_size]))).data.astype(np.float64))
        self.model.train()
        return np.concatenate(out) if out else np.zeros((0, 10))

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        return s_evaluate(self.model, images, labels)

    def state_dict(self) -> dict[str, Any]:
        return {"model": _to_torch(dict(self.model.state_dict())), "optimizer": _to_torch(self.optimizer.state_dict())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(_to_numpy(state["model"]))
        self.optimizer.load_state_dict(_to_numpy(state["optimizer"]))
