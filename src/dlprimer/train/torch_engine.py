"""The torch engine: one epoch of the notes' 更新流程, in numbered steps.

Per batch:

1. take a batch from the ``DataLoader`` (shuffled by a generator seeded with ``(seed, epoch)``);
2. augment it (``task.augment_batch``, e.g. random shifts) and move it to the device (targets may be a tensor
   of labels or, for detection, a list of per-image dicts of tensors);
3. forward under autocast when AMP is on (bf16 on CPU; fp16 on CUDA) and compute the loss (``task.compute_loss``);
   a non-finite loss stops the run (:class:`~dlprimer.train.errors.DivergedError`) before the update;
4. ``optimizer.zero_grad()``, then backward (through the ``GradScaler`` on CUDA fp16);
5. unscale the gradients (so clipping sees their true size), then clip their global norm if asked;
6. ``optimizer.step()`` (the scaler skips the step if it found inf/NaN) and ``scaler.update()``;
7. ``schedule.step()``: the learning rate for the next batch (schedules step per batch); then, when the config
   asks for it (``ema``), update the exponential moving average of the weights (:mod:`dlprimer.train.ema`),
   which evaluation, the summary and the saved model then use.

Seeding each epoch from ``(seed, epoch)`` rather than from a running RNG is what makes ``--resume``
reproduce an uninterrupted run exactly: epoch ``e`` sees the same batches and shifts either way.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer import schedules
from dlprimer.nn.init import init_weights
from dlprimer.train.config import TrainConfig
from dlprimer.train.contract import BatchCallback
from dlprimer.train.errors import CheckpointError, DivergedError
from dlprimer.train.recipe import build_optimizer, build_run_schedule


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


def diverged(epoch: int, loss: float) -> DivergedError:
    return DivergedError(
        f"training diverged at epoch {epoch}: the loss became {loss}; the last good checkpoint is kept; "
        "lower --lr or set --clip-grad", epoch=epoch, loss=loss)


def batch_size_of(targets: Any) -> int:
    """Samples in a batch's targets: a tensor's first dimension or a list's length."""
    return int(targets.shape[0]) if isinstance(targets, torch.Tensor) else len(targets)


def to_device(obj: Any, device: torch.device) -> Any:
    """``obj`` (a tensor, or lists / tuples / dicts of them) moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def rank_part(obj: Any, rank: int, world_size: int) -> Any:
    """This rank's contiguous slice of a global batch (``torch.tensor_split``'s sizes for tensors and lists)."""
    if isinstance(obj, torch.Tensor):
        return torch.tensor_split(obj, world_size)[rank]
    n = len(obj)
    bounds = [k * (n // world_size) + min(k, n % world_size) for k in range(world_size + 1)]
    return obj[bounds[rank]:bounds[rank + 1]]


def load_initial_weights(model: nn.Module, config: TrainConfig) -> None:
    """``--init-from RUN_DIR`` (its best.pt, else checkpoint.pt) or ``--pretrained FILE`` into ``model``; the head
    is always new (the backbone loaded bit for bit)."""
    from pathlib import Path

    from dlprimer.train.checkpoint import load_checkpoint
    from dlprimer.train.finetune import load_backbone, load_pretrained_file

    if config.init_from is not None:
        run = Path(config.init_from)
        if not run.is_dir():
            raise FileNotFoundError(f"--init-from run folder not found: {run}")
        path = run / "best.pt" if (run / "best.pt").is_file() else run / "checkpoint.pt"
        state = load_checkpoint(path)
        weights = state.get("engine", {}).get("model") if isinstance(state.get("engine"), dict) else None
        if not isinstance(weights, dict):
            raise CheckpointError(f"checkpoint {path}: engine.model: missing")
        load_backbone(model, weights, f"--init-from {path}")
    else:
        load_backbone(model, load_pretrained_file(str(config.pretrained)), f"--pretrained {config.pretrained}")


class TorchEngine:
    """Model, optimizer, schedule and AMP state of a torch run (implements :class:`~dlprimer.train.contract.Engine`).

    ``param_groups`` (optional) replaces ``model.parameters()`` as the optimizer's input (fine-tuning: frozen
    parameters left out, per-layer learning rates); otherwise a task may supply them (``task.param_groups(model,
    config)``, e.g. detection: no weight decay on biases and normalization weights).

    Options a config does not have are off: classification's ``init`` / ``init_from`` / ``pretrained`` /
    ``finetune`` / ``layer_lr_decay`` and detection's ``ema`` are read with ``getattr`` and a neutral default.
    A task whose ``build_model`` initializes its own weights (detectors: focal-loss bias priors) leaves ``init``
    out of its config.
    """

    def __init__(self, config: TrainConfig, task: Any, device: torch.device,
                 model: nn.Module | None = None, param_groups: Any = None, load_init: bool = True) -> None:
        from dlprimer.train import distributed

        self.dist = distributed.current()  # under torchrun: DDP, each rank trains on its slice of the global batch
        if self.dist is not None:
            distributed.check_global_batch(config.batch_size, self.dist.world_size)
            device = distributed.device_for(self.dist, device)
        self.config = config
        self.task = task
        self.device = device
        self.generator = torch.Generator()
        self.loader = torch.utils.data.DataLoader(
            task.train_dataset(), batch_size=config.batch_size, shuffle=True, generator=self.generator,
            drop_last=False, collate_fn=task.collate, num_workers=config.workers,
            persistent_workers=False,
        )
        self.steps_per_epoch = len(self.loader)
        if self.dist is not None:
            last = len(self.loader.dataset) % config.batch_size
            if 0 < last < self.dist.world_size:
                raise ValueError(f"the last batch has {last} images, fewer than the {self.dist.world_size} processes; "
                                 f"choose a --batch-size that leaves 0 or at least {self.dist.world_size}")
        if model is None:
            model = task.build_model(config)
            if getattr(config, "init", None):
                model = init_weights(model, config.init, nonlinearity="relu")
            if load_init and (getattr(config, "init_from", None) or getattr(config, "pretrained", None)):
                load_initial_weights(model, config)
        self.model = model.to(device)
        self.train_model: nn.Module = self.model  # what the training step calls (the DDP wrapper under torchrun)
        if self.dist is not None:
            self.train_model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        if param_groups is None and getattr(config, "layer_lr_decay", 1.0) != 1.0:
            from dlprimer.train.finetune import layer_lr_groups

            param_groups = layer_lr_groups(self.model, config.lr, config.layer_lr_decay)
        if param_groups is None and hasattr(task, "param_groups"):
            param_groups = task.param_groups(self.model, config)
        params = param_groups if param_groups is not None else self.model.parameters()
        self.optimizer = build_optimizer(config, params, backend="torch")
        self.schedule = build_run_schedule(config, self.steps_per_epoch)
        self.adapter = schedules.ScheduleAdapter(self.optimizer, self.schedule)
        self.amp_dtype = (torch.float16 if device.type == "cuda" else torch.bfloat16) if config.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")
        self.ema = None
        if getattr(config, "ema", False):
            from dlprimer.train.ema import ModelEMA

            self.ema = ModelEMA(self.model, config.ema_decay)

    @property
    def eval_model(self) -> nn.Module:
        """The model evaluation, the summary and export use: the EMA of the weights when kept, else the model."""
        return self.ema.module if self.ema is not None else self.model

    # ------------------------------------------------------------------------------------------ training
    def _autocast(self) -> Any:
        """Autocast when AMP is on; a free no-op context otherwise (entering a disabled autocast costs time)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def train_epoch(self, epoch: int, on_batch: BatchCallback | None = None) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        if getattr(cfg, "finetune", ""):  # 微调: freeze all but this epoch's stage (and frozen layers' BN statistics)
            from dlprimer.train.finetune import apply_stage, stage_of_epoch

            apply_stage(self.model, stage_of_epoch(cfg.finetune_stages(), cfg.stage_epoch_counts(), epoch))
        self.generator.manual_seed(epoch_seed(cfg.seed, epoch))
        torch.manual_seed(epoch_seed(cfg.seed, epoch))  # dropout and any other global draws
        if hasattr(self.loader.dataset, "set_epoch"):  # per-sample augmentation seeded by (seed, epoch, index)
            self.loader.dataset.set_epoch(epoch)
        from dlprimer.train import distributed

        total_loss, seen = 0.0, 0
        losses: list[float] = []
        stats: dict[str, float] = {}
        lr = self.adapter.get_last_lr()[0]
        for i, (images, targets) in enumerate(self.loader):  # 1. a batch
            images, targets = self.task.augment_batch(images, targets, self.generator)  # 2. augment, move
            n_global = batch_size_of(targets)
            if self.dist is not None:  # this rank's contiguous slice of the global batch
                images = rank_part(images, self.dist.rank, self.dist.world_size)
                targets = rank_part(targets, self.dist.rank, self.dist.world_size)
            images, targets = images.to(self.device), to_device(targets, self.device)
            n = batch_size_of(targets)
            with self._autocast():  # 3. forward (+ AMP), loss
                loss, batch_stats = self.task.compute_loss(self.train_model, images, targets)
            value = float(loss.detach())
            if self.dist is not None:  # DDP averages gradients: weight the local mean by n / (n_global / W)
                loss = loss * (n * self.dist.world_size / n_global)
                value = distributed.all_reduce_sum([value * n])[0] / n_global  # same on every rank
            if not math.isfinite(value):
                raise diverged(epoch, value)
            self.optimizer.zero_grad(set_to_none=True)  # 4. backward
            self.scaler.scale(loss).backward()
            if cfg.clip_grad is not None:  # 5. unscale, then clip
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.grad is not None], cfg.clip_grad)
            lr = self.adapter.get_last_lr()[0]
            self.scaler.step(self.optimizer)  # 6. step
            self.scaler.update()
            self.adapter.step()  # 7. next batch's learning rate, the EMA
            if self.ema is not None:
                self.ema.update(self.model)
            total_loss += value * n
            losses.append(value * n_global)
            for key, v in batch_stats.items():
                stats[key] = stats.get(key, 0.0) + v * n
            seen += n
            if on_batch is not None:
                on_batch(i, value)
        if self.dist is not None:  # metrics over all ranks, weighted by samples
            keys = sorted(stats)
            sums = distributed.all_reduce_sum([seen, *(stats[k] for k in keys)])
            seen, stats = int(sums[0]), dict(zip(keys, sums[1:], strict=True))
            total_loss = sum(v for v in losses)  # already global per batch
        return {"train_loss": total_loss / seen, **{f"train_{k}": v / seen for k, v in stats.items()}, "lr": lr}

    # ---------------------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def predict(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Outputs (float64) of :attr:`eval_model` in eval mode for normalized images ``[N, C, H, W]``
        (classification: logits; a detection task predicts through ``eval_model.predict`` instead)."""
        model = self.eval_model.eval()
        out = []
        for start in range(0, images.shape[0], batch_size):
            x = torch.tensor(np.asarray(images[start:start + batch_size]), dtype=torch.float32)
            out.append(model(x.to(self.device)).double().cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, self.task.num_classes))

    logits = predict  # the classification name

    # ---------------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.adapter.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any], source: str = "checkpoint") -> None:
        targets: list[tuple[str, Any]] = [("model", self.model), ("optimizer", self.optimizer),
                                          ("schedule", self.adapter)]
        if self.ema is not None:
            targets.append(("ema", self.ema))
        for key, target in targets:
            try:
                target.load_state_dict(state[key])
            except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
                first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                raise CheckpointError(f"{source}: engine.{key}: does not fit this run ({first})") from None
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
