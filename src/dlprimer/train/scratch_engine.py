"""The NumPy backend of ``dlprimer train --engine scratch``: the same job on :mod:`dlprimer.scratch`.

It implements :class:`dlprimer.train.contract.Engine` (``steps_per_epoch``, ``train_epoch``, ``predict``,
``state_dict``, ``load_state_dict``) for the classification task on the digits, so :func:`dlprimer.train.fit`
writes the same run folder. The optimizer and the schedule come from :mod:`dlprimer.train.recipe`, as the
torch engine's do. Differences, by design: the model is the scratch LeNet-5 (same parameter names as the torch
one), initialized with :mod:`dlprimer.scratch.init` from a NumPy generator seeded by the run seed; shuffling and
shifts come from a NumPy generator seeded per epoch (shifts replicate the edge pixels, the background); no AMP,
no gradient clipping, CPU only. Checkpoints hold the NumPy arrays as torch tensors, so they load with
``weights_only=True`` like the torch engine's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dlprimer.augment import random_shift
from dlprimer.scratch import models as smodels
from dlprimer.scratch.data import DataLoader, TensorDataset
from dlprimer.scratch.trainer import evaluate as s_evaluate
from dlprimer.scratch.trainer import train_one_epoch
from dlprimer.train.config import TrainConfig
from dlprimer.train.contract import BatchCallback
from dlprimer.train.errors import CheckpointError
from dlprimer.train.recipe import build_optimizer, build_run_schedule, init_scratch_weights
from dlprimer.train.torch_engine import diverged, epoch_seed


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

    def __init__(self, config: TrainConfig, task: Any) -> None:
        self.config = config
        self.task = task
        self.train_images = np.array(task.splits.train.images, dtype=np.float32)  # a writable copy for torch
        self.train_labels = np.asarray(task.splits.train.labels)
        n = self.train_labels.shape[0]
        self.steps_per_epoch = -(-n // config.batch_size)
        gen = np.random.default_rng(config.seed)
        self.model = smodels.lenet5(num_classes=task.num_classes, in_channels=self.train_images.shape[1],
                                    generator=gen)
        init_scratch_weights(self.model, config.init, gen)
        self.optimizer = build_optimizer(config, list(self.model.parameters()), backend="scratch")
        self.schedule = build_run_schedule(config, self.steps_per_epoch)

    def train_epoch(self, epoch: int, on_batch: BatchCallback | None = None) -> dict[str, float]:
        cfg = self.config
        rng = np.random.default_rng(epoch_seed(cfg.seed, epoch))
        # the one random shift of dlprimer.augment (the torch engine's too), filled with the normalized background
        shifter = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch))
        images = random_shift(torch.from_numpy(self.train_images), cfg.shift, shifter, self.task.fill).numpy()
        loader = DataLoader(TensorDataset(images, self.train_labels), batch_size=cfg.batch_size, shuffle=True,
                            generator=rng)
        out = train_one_epoch(self.model, loader, self.optimizer, lr=self.schedule,
                              label_smoothing=cfg.label_smoothing, start_step=(epoch - 1) * self.steps_per_epoch)
        if not np.isfinite(out["loss"]):
            raise diverged(epoch, out["loss"])
        if on_batch is not None:
            on_batch(out["steps"] - 1, out["loss"])
        return {"train_loss": out["loss"], "train_accuracy": out["accuracy"], "lr": out["lr"]}

    def predict(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        from dlprimer.scratch.autograd import Tensor, no_grad

        self.model.eval()
        out = []
        with no_grad():
            for start in range(0, images.shape[0], batch_size):
                out.append(self.model(Tensor(np.asarray(images[start:start + batch_size]))).data.astype(np.float64))
        self.model.train()
        return np.concatenate(out) if out else np.zeros((0, self.task.num_classes))

    logits = predict

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        return s_evaluate(self.model, images, labels)

    def state_dict(self) -> dict[str, Any]:
        return {"model": _to_torch(dict(self.model.state_dict())), "optimizer": _to_torch(self.optimizer.state_dict())}

    def load_state_dict(self, state: dict[str, Any], source: str = "checkpoint") -> None:
        for key, target in (("model", self.model), ("optimizer", self.optimizer)):
            try:
                target.load_state_dict(_to_numpy(state[key]))
            except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
                first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                raise CheckpointError(f"{source}: engine.{key}: does not fit this run ({first})") from None
