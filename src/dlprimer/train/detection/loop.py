"""``fit_detection``: a detection run from configuration to run folder, read top to bottom.

It mirrors :mod:`dlprimer.train.engine` / :mod:`dlprimer.train.torch_engine` (same run folder, checkpoint,
resume and seeding conventions) so that it can fold into the shared engine as its detection task:

1. validate the configuration and the data, then claim the run folder ``OUT/NAME/`` with
   :class:`dlprimer.train.run_folder.RunFolder` (marker, ``config.json``; atomic, never replacing a folder that is
   not a run folder);
2. seed everything; load the data (:mod:`.data`): splits, ground truth, label map;
3. build the model (``yolo``: k-means anchors on the letterboxed training boxes, kept in the checkpoint), the
   optimizer (no weight decay on biases and norm weights), the per-batch schedule with warmup, AMP, the EMA;
   on resume restore all of it and the RNG states from ``checkpoint.pt``;
4. for each epoch (seeded from ``(seed, epoch)``, so a resumed run sees the same batches and augmentations as
   an uninterrupted one), per batch:
   1. take a batch (the loader's generator and the dataset's augmentation stream seeded by the epoch);
   2. move it to the device as float in ``[0, 1]``;
   3. forward under autocast when AMP is on and compute the detector's loss;
   4. ``zero_grad``, backward (through the ``GradScaler`` on CUDA fp16);
   5. unscale, clip the global gradient norm;
   6. ``optimizer.step()`` and ``scaler.update()``;
   7. ``schedule.step()`` (per batch), then update the EMA;
   then every ``eval_every`` epochs (and after the last) the validation mAP of the EMA weights; append a row to
   ``metrics.jsonl``; write ``checkpoint.pt`` atomically;
5. evaluate the EMA model on the test split (or val when the data has no test split): ``eval/<split>/
   detections.json`` (COCO results, the input's ids), ``stats.json`` (the 12 COCO numbers, per-class AP);
6. write ``summary.json``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer import schedules
from dlprimer._io import atomic_write_json, atomic_write_text
from dlprimer.augment.collate import detection_collate
from dlprimer.models import detection
from dlprimer.train.checkpoint import load_checkpoint, save_checkpoint
from dlprimer.train.detection.config import DetectConfig
from dlprimer.train.detection.data import (
    DetectionData,
    build_train_set,
    load_detection_data,
    parse_pipeline,
    to_float,
)
from dlprimer.train.detection.ema import ModelEMA
from dlprimer.train.detection.evaluate import evaluate_records, predict_split
from dlprimer.train.run_folder import RunFolder
from dlprimer.train.seed import rng_state, seed_everything, set_rng_state
from dlprimer.train.torch_engine import epoch_seed, resolve_device

__all__ = ["CHECKPOINT", "DetectResult", "build_model", "fit_detection", "load_detection_run", "resume_detection",
           "write_eval"]

CHECKPOINT = "checkpoint.pt"


@dataclass
class DetectResult:
    """What :func:`fit_detection` returns: the run folder, the test stats, the history and the summary."""

    run_dir: Path
    stats: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def build_model(config: DetectConfig, data: DetectionData) -> nn.Module:
    """The detector of ``config`` for ``data``'s classes and channels (anchors still at their defaults)."""
    return detection.create(config.model, num_classes=data.num_classes, in_channels=data.in_channels,
                            image_size=config.image_size, width=config.width, neck_channels=config.neck_channels,
                            backbone=config.backbone)


def _fit_anchors(model: nn.Module, data: DetectionData, seed: int) -> None:
    if not hasattr(model, "set_anchors"):
        return
    base = data.splits["train"]
    wh = []
    for i in range(len(base)):
        b = base[i]["boxes"]
        wh.append((b[:, 2:] - b[:, :2]).numpy())
    wh_all = np.concatenate(wh) if wh else np.zeros((0, 2))
    if len(wh_all):
        model.set_anchors(detection.kmeans_anchors(wh_all, 9, seed=seed))


def _optimizer(config: DetectConfig, model: nn.Module) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.937, nesterov=True)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr)
    return torch.optim.AdamW(groups, lr=config.lr)


class _Run:
    """Everything that changes during training (model, optimizer, schedule, scaler, EMA) and its state dict."""

    def __init__(self, config: DetectConfig, data: DetectionData, device: torch.device) -> None:
        self.config, self.data, self.device = config, data, device
        self.model = build_model(config, data)
        _fit_anchors(self.model, data, config.seed)
        self.model.to(device)
        self.train_set = build_train_set(data, config, mixing=True)
        self.plain_set = build_train_set(data, config, mixing=False)
        self.generator = torch.Generator()
        n = len(self.train_set)
        self.steps_per_epoch = math.ceil(n / config.batch_size)
        total = config.epochs * self.steps_per_epoch
        self.optimizer = _optimizer(config, self.model)
        schedule = schedules.build_schedule(config.schedule, config.lr, total,
                                            warmup_steps=min(config.warmup * self.steps_per_epoch, total - 1))
        self.adapter = schedules.ScheduleAdapter(self.optimizer, schedule)
        self.amp_dtype = (torch.float16 if device.type == "cuda" else torch.bfloat16) if config.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")
        self.ema = ModelEMA(self.model, config.ema_decay) if config.ema else None

    def eval_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.model

    def loader(self, epoch: int) -> torch.utils.data.DataLoader:
        mixing = epoch <= self.config.epochs - self.config.close_mosaic
        dataset = self.train_set if mixing else self.plain_set
        dataset.set_epoch(epoch)
        self.generator.manual_seed(epoch_seed(self.config.seed, epoch))
        return torch.utils.data.DataLoader(dataset, batch_size=self.config.batch_size, shuffle=True,
                                           generator=self.generator, collate_fn=detection_collate)

    def train_epoch(self, epoch: int, on_batch: Callable[[int, int, float], None] | None = None) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        torch.manual_seed(epoch_seed(cfg.seed, epoch))
        totals: dict[str, float] = {}
        seen = 0
        lr = self.adapter.get_last_lr()[0]
        for i, (images, targets) in enumerate(self.loader(epoch)):  # 1. a batch (augmented by the dataset)
            images = to_float(images).to(self.device)  # 2. float, device
            targets = [{"boxes": t["boxes"].to(self.device), "labels": t["labels"].to(self.device)} for t in targets]
            with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                                enabled=self.amp_dtype is not None):  # 3. forward (+ AMP), loss
                loss, parts = self.model.training_loss(images, targets)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged at epoch {epoch}, batch {i} ({parts}); lower --lr")
            self.optimizer.zero_grad(set_to_none=True)  # 4. backward
            self.scaler.scale(loss).backward()
            if cfg.clip_grad is not None:  # 5. unscale, clip
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
            lr = self.adapter.get_last_lr()[0]
            self.scaler.step(self.optimizer)  # 6. step
            self.scaler.update()
            self.adapter.step()  # 7. next batch's learning rate, EMA
            if self.ema is not None:
                self.ema.update(self.model)
            n = images.shape[0]
            seen += n
            totals["loss"] = totals.get("loss", 0.0) + float(loss.detach()) * n
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + v * n
            if on_batch is not None:
                on_batch(epoch, i, float(loss.detach()))
        return {f"train_{k}": v / max(seen, 1) for k, v in totals.items()} | {"lr": lr}

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "schedule": self.adapter.state_dict(), "scaler": self.scaler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.adapter.load_state_dict(state["schedule"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])


def fit_detection(config: DetectConfig, overwrite: bool = False,
                  on_batch: Callable[[int, int, float], None] | None = None,
                  on_epoch: Callable[[dict[str, Any]], None] | None = None) -> DetectResult:
    """Train a detector and write its run folder (see the module docstring)."""
    parse_pipeline(config.augment)  # 1. configuration (validated on construction), names, data; then run folder
    if config.schedule not in schedules.list_schedules():
        raise ValueError(f"--schedule: unknown schedule {config.schedule!r}; known: "
                         f"{', '.join(schedules.list_schedules())}")
    data = load_detection_data(config)
    name = config.name or f"{config.model}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder = RunFolder.claim(config, name, overwrite)  # type: ignore[arg-type]  (bad data leaves no folder behind)
    folder.commit_swap()
    return _fit(config, folder.path, None, on_batch, on_epoch, data)


def _load_config(run_dir: Path) -> DetectConfig:
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    try:
        return DetectConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: {run_dir} is not a dlprimer detection run folder") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None


def resume_detection(run_dir: str | os.PathLike[str], on_batch: Callable[[int, int, float], None] | None = None,
                     on_epoch: Callable[[dict[str, Any]], None] | None = None) -> DetectResult:
    """Continue the run in ``run_dir`` from its last checkpoint; it ends as an uninterrupted run would."""
    folder = RunFolder.open(run_dir)
    folder.remove_stale_temporaries()
    config = _load_config(folder.path)
    return _fit(config, folder.path, load_checkpoint(folder.checkpoint), on_batch, on_epoch)


def _fit(config: DetectConfig, run_dir: Path, state: dict[str, Any] | None,
         on_batch: Callable[[int, int, float], None] | None,
         on_epoch: Callable[[dict[str, Any]], None] | None, data: DetectionData | None = None) -> DetectResult:
    started = time.perf_counter()
    seed_everything(config.seed)  # 2. seeds, data (deterministic: no global random state involved)
    data = load_detection_data(config) if data is None else data
    run = _Run(config, data, resolve_device(config.device))  # 3. model, optimizer, schedule, EMA (+ resume)
    history: list[dict[str, Any]] = []
    first_epoch = 1
    if state is not None:
        run.load_state_dict(state["run"])
        set_rng_state(state["rng"])
        history = [dict(row) for row in state["history"]]
        first_epoch = int(state["epoch"]) + 1
        started -= float(state.get("elapsed_s", 0.0))
    metrics_path = run_dir / "metrics.jsonl"
    atomic_write_text(metrics_path, "".join(json.dumps(row) + "\n" for row in history))
    for epoch in range(first_epoch, config.epochs + 1):  # 4. epochs
        t0 = time.perf_counter()
        row: dict[str, Any] = {"epoch": epoch, **run.train_epoch(epoch, on_batch)}
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            pred = predict_split(run.eval_model(), data, "val", batch_size=config.batch_size,
                                 score_threshold=config.score_threshold, nms=config.nms,
                                 iou_threshold=config.iou_threshold, max_dets=config.max_dets, device=run.device)
            stats = evaluate_records(data.coco["val"], pred["records"], config.max_dets).to_dict()["stats"]
            row |= {"val_AP": stats["AP"], "val_AP50": stats["AP50"]}
        row["time_s"] = round(time.perf_counter() - t0, 4)
        history.append(row)
        RunFolder.open(run_dir).append_metrics(row)
        save_checkpoint(run_dir / CHECKPOINT, {"epoch": epoch, "run": run.state_dict(), "rng": rng_state(),
                                               "history": history, "config": config.to_dict(),
                                               "elapsed_s": time.perf_counter() - started})
        if on_epoch is not None:
            on_epoch(row)
    train_time = time.perf_counter() - started
    split = "test" if "test" in data.splits else "val"  # 5. test evaluation
    summary = write_eval(run_dir, run.eval_model(), data, config, split)
    summary |= {"model": config.model, "epochs": config.epochs, "train_time_s": round(train_time, 3),
                "wall_time_s": round(time.perf_counter() - started, 3)}
    atomic_write_json(run_dir / "summary.json", summary)  # 6. summary
    return DetectResult(run_dir, summary["stats"], history, summary)


def write_eval(run_dir: Path, model: nn.Module, data: DetectionData, config: DetectConfig, split: str,
               nms: str | None = None, score_threshold: float | None = None, max_dets: int | None = None,
               plots: bool = False) -> dict[str, Any]:
    """Predict ``split``, write ``RUN_DIR/eval/<split>/detections.json`` and ``stats.json`` (and with ``plots``
    the PR / F1-vs-confidence curves and the detection confusion matrix); return the stats dict."""
    nms = config.nms if nms is None else nms
    score_threshold = config.score_threshold if score_threshold is None else score_threshold
    max_dets = config.max_dets if max_dets is None else max_dets
    pred = predict_split(model, data, split, batch_size=config.batch_size, score_threshold=score_threshold, nms=nms,
                         iou_threshold=config.iou_threshold, max_dets=max_dets,
                         device=next(model.parameters()).device)
    result = evaluate_records(data.coco[split], pred["records"], max_dets)
    folder = run_dir / "eval" / split
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "detections.json", pred["records"])
    d = result.to_dict()
    stats = {"split": split, "nms": nms, "score_threshold": score_threshold, "max_dets": max_dets,
             "stats": d["stats"], "stats_list": d["stats_list"], "per_class": d.get("per_class"),
             "summary": result.summary(),
             "candidates_per_image": pred["candidates_per_image"],
             "decode_nms_s_per_image": pred["decode_nms_s_per_image"],
             "predict_s_per_image": pred["predict_s_per_image"]}
    atomic_write_json(folder / "stats.json", stats)
    if plots:
        _write_plots(folder, result, pred["records"], data, split)
    return stats


def _write_plots(folder: Path, result: Any, records: list[dict[str, Any]], data: DetectionData, split: str) -> None:
    from dlprimer.metrics.detection_confusion import detection_confusion_matrix
    from dlprimer.metrics.plots import plot_coco_curves
    from dlprimer.train.plots import plot_confusion

    plot_coco_curves(result, folder / "curves.png")
    gt = data.coco[split]
    label = {c: k for k, c in enumerate(data.category_ids)}
    ids = [im["id"] for im in gt["images"]]
    def xyxy(b: list[float]) -> list[float]:
        return [b[0], b[1], b[0] + b[2], b[1] + b[3]]
    g_boxes = {i: [] for i in ids}
    g_labels = {i: [] for i in ids}
    for a in gt.get("annotations", []):
        if not a.get("iscrowd", 0):
            g_boxes[a["image_id"]].append(xyxy(a["bbox"]))
            g_labels[a["image_id"]].append(label[a["category_id"]])
    d_boxes, d_labels, d_scores = ({i: [] for i in ids} for _ in range(3))
    for r in records:
        d_boxes[r["image_id"]].append(xyxy(r["bbox"]))
        d_labels[r["image_id"]].append(label[r["category_id"]])
        d_scores[r["image_id"]].append(r["score"])
    matrix = detection_confusion_matrix([g_boxes[i] for i in ids], [g_labels[i] for i in ids],
                                        [d_boxes[i] for i in ids], [d_labels[i] for i in ids],
                                        [d_scores[i] for i in ids], data.num_classes)
    atomic_write_json(folder / "confusion.json", {"labels": list(data.category_names) + ["background"],
                                                  "matrix": matrix.tolist()})
    plot_confusion(matrix, folder / "confusion.png")


def load_detection_run(run_dir: str | os.PathLike[str]) -> tuple[DetectConfig, nn.Module, DetectionData]:
    """The config, the trained (EMA) model in eval mode and the data of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    config = _load_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT)
    data = load_detection_data(config)
    model = build_model(config, data)
    weights = state["run"]["ema"]["module"] if state["run"].get("ema") else state["run"]["model"]
    model.load_state_dict(weights)
    return config, model.eval(), data
