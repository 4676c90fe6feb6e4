"""``DetectionTask``: object detection on the one training engine (:mod:`dlprimer.train.engine`).

It implements the :class:`dlprimer.train.contract.Task` contract, so a detection run has the loop, run folder,
checkpoint/resume, AMP, clipping, per-batch schedule with warmup, EMA, early stopping, loggers, callbacks and
torchrun support of classification — and supplies what is detection's own:

* **data** (:mod:`.data`): the embedded digit scenes or a COCO-format folder, letterboxed; the training set is
  augmented per sample (mosaic, affine, colour, ... through :class:`dlprimer.augment.MixingDataset`, seeded by
  ``(seed, epoch, index)``) and batched by :func:`dlprimer.augment.collate.detection_collate`; the last
  ``close_mosaic`` epochs train without multi-sample mixing;
* **model**: ``dlprimer.models.detection.create(config.model, ...)``; ``yolo``'s anchors are fitted by k-means
  on the letterboxed training boxes before training (a buffer of the model: saved in every checkpoint);
* **optimizer groups**: no weight decay on biases and normalization weights (YOLOv5's three groups, merged to two);
* **loss**: the detector's own (``training_loss``; the forward pass goes through the DDP wrapper under torchrun);
* **evaluation**: COCO mAP of the EMA weights on the validation split every ``eval_every`` epochs (and after the
  last) — ``val_AP``, ``val_AP50`` in ``metrics.jsonl``; there is no validation loss (the model's training loss
  needs training-mode batches) — and the test split (or val when there is no test split) at the end:
  ``summary.json`` holds the 12 COCO numbers and per-class AP, ``eval/<split>/detections.json`` the COCO results
  with the input's image and category ids, ``eval/<split>/stats.json`` the stats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer.augment.collate import detection_collate
from dlprimer.models import detection
from dlprimer.train.detection.config import DetectConfig
from dlprimer.train.detection.data import DetectionData, build_train_set, load_detection_data, parse_pipeline, to_float

__all__ = ["DetectionTask", "build_detector", "fit_anchors"]


def build_detector(config: DetectConfig, data: DetectionData) -> nn.Module:
    """The detector of ``config`` for ``data``'s classes and channels (anchors still at their defaults)."""
    return detection.create(config.model, num_classes=data.num_classes, in_channels=data.in_channels,
                            image_size=config.image_size, width=config.width, neck_channels=config.neck_channels,
                            backbone=config.backbone)


def fit_anchors(model: nn.Module, data: DetectionData, seed: int) -> None:
    """Set an anchor-based model's 9 anchors by k-means on the training boxes' ``(w, h)`` (no-op for others)."""
    if not hasattr(model, "set_anchors"):
        return
    base = data.splits["train"]
    wh = [(b[:, 2:] - b[:, :2]).numpy() for b in (base[i]["boxes"] for i in range(len(base)))]
    wh_all = np.concatenate(wh) if wh else np.zeros((0, 2))
    if len(wh_all):
        model.set_anchors(detection.kmeans_anchors(wh_all, 9, seed=seed))


class EpochSwitch(torch.utils.data.Dataset):
    """The training set of epoch ``e``: ``mixing`` (mosaic and the other multi-sample ops) up to epoch
    ``last_mixing``, then ``plain`` (YOLOv8's ``close_mosaic``). ``set_epoch`` picks one and seeds it."""

    def __init__(self, mixing: Any, plain: Any, last_mixing: int) -> None:
        self.mixing, self.plain, self.last_mixing = mixing, plain, int(last_mixing)
        self.current = mixing

    def set_epoch(self, epoch: int) -> None:
        self.current = self.mixing if epoch <= self.last_mixing else self.plain
        self.current.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.current)

    def __getitem__(self, index: int) -> Any:
        return self.current[index]


class DetectionTask:
    """The detection task of a run (see the module docstring and :mod:`dlprimer.train.contract`)."""

    kind = "detection"
    collate = staticmethod(detection_collate)

    def __init__(self, config: DetectConfig, data: DetectionData) -> None:
        self.config = config
        self.data = data
        self.num_classes = data.num_classes
        self.in_channels = data.in_channels
        self.image_size = config.image_size
        self.class_names = list(data.category_names)
        self.evaluate_every = config.eval_every
        self._final: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, config: DetectConfig) -> DetectionTask:
        """Check the pipeline and schedule names, then load the data (raises before any write)."""
        from dlprimer import schedules

        parse_pipeline(config.augment)
        if config.schedule not in schedules.list_schedules():
            raise ValueError(f"--schedule: unknown schedule {config.schedule!r}; known: "
                             f"{', '.join(schedules.list_schedules())}")
        return cls(config, load_detection_data(config))

    def data_info(self) -> dict[str, Any]:
        return {"source": self.data.source, "num_classes": self.num_classes, "in_channels": self.in_channels,
                "image_size": self.image_size, "class_names": self.class_names,
                "category_ids": list(self.data.category_ids)}

    # ------------------------------------------------------------------------------------ building
    def build_model(self, config: DetectConfig) -> nn.Module:
        model = build_detector(config, self.data)
        fit_anchors(model, self.data, config.seed)
        return model

    def param_groups(self, model: nn.Module, config: DetectConfig) -> list[dict[str, Any]]:
        """Weight decay on convolution and linear weights only (not on biases or normalization weights)."""
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
        return [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    # ------------------------------------------------------------------------------------ training
    def train_dataset(self) -> EpochSwitch:
        cfg = self.config
        return EpochSwitch(build_train_set(self.data, cfg, mixing=True), build_train_set(self.data, cfg, mixing=False),
                           last_mixing=cfg.epochs - cfg.close_mosaic)

    def augment_batch(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]],
                      generator: torch.Generator) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
        """uint8 images → float in ``[0, 1]``; the augmentation already happened per sample in the dataset (whose
        items hold only image, boxes and labels, so the targets go on unchanged)."""
        return to_float(images), targets

    def compute_loss(self, model: nn.Module, images: torch.Tensor,
                     targets: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, dict[str, float]]:
        detector = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
        return detector.training_loss(images, targets, forward=model if model is not detector else None)

    # ------------------------------------------------------------------------------------ evaluation
    def evaluate(self, engine: Any, split: str) -> dict[str, float]:
        """``{"AP", "AP50"}`` of the engine's evaluation model (the EMA) on ``split``."""
        from dlprimer.train.detection.evaluate import evaluate_split

        stats, _, _ = evaluate_split(engine.eval_model, self.data, self.config, split)
        return {"AP": stats["stats"]["AP"], "AP50": stats["stats"]["AP50"]}

    def final_split(self) -> str:
        return "test" if "test" in self.data.splits else "val"

    def summary(self, engine: Any) -> dict[str, Any]:
        """The test split's stats (the val split's when the data has no test split): the 12 COCO numbers,
        per-class AP, the printed summary, candidates and timings per image."""
        from dlprimer.train.detection.evaluate import evaluate_split

        split = self.final_split()
        stats, records, result = evaluate_split(engine.eval_model, self.data, self.config, split)
        self._final = {"split": split, "stats": stats, "records": records, "result": result}
        return {"model": self.config.model, **stats}

    def figures(self, engine: Any, history: list[dict[str, Any]], run_dir: Path,
                summary: dict[str, Any] | None = None) -> None:
        """``eval/<split>/detections.json`` and ``stats.json`` of the final evaluation, and ``curves.png``
        (training loss, validation AP and learning rate per epoch)."""
        from dlprimer.train.detection.evaluate import write_eval_files

        if self._final is None:
            self.summary(engine)
        final = self._final
        write_eval_files(Path(run_dir) / "eval" / final["split"], final["stats"], final["records"])
        if history:
            from dlprimer.train.plots import plot_detection_curves

            plot_detection_curves(history, Path(run_dir) / "curves.png")

