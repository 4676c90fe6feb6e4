"""``ClassificationTask``: image classification on the embedded digits or on an image folder.

It implements the :class:`dlprimer.train.contract.Task` contract: the data (train/val/test arrays normalized
with the training split's per-channel statistics), the zoo model with a head for ``num_classes`` (input-size
checked: a model that cannot run at ``image_size`` is a one-line error naming the smallest size that works),
cross-entropy with label smoothing, validation loss/accuracy, and the test summary (accuracy, per-class
precision/recall/F1, the confusion matrix; macro F1 as the notes define it, ``2·P̄·R̄/(P̄+R̄)``, next to the
mean of per-class F1).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer.metrics.classification import accuracy, confusion_matrix, per_class_prf, precision_recall_f1
from dlprimer.train.config import TrainConfig

DIGITS_IMAGE_SIZE = 32
FOLDER_IMAGE_SIZE = 64


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of float64 logits ``[N, K]`` and labels ``[N]`` (stable log-softmax); NaN when empty."""
    if logits.shape[0] == 0:
        return float("nan")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(labels.shape[0]), labels].mean())


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[N, K]`` logits (float64)."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _runs(model_name: str, in_channels: int, size: int) -> bool:
    from dlprimer import models

    with torch.random.fork_rng(devices=[]):  # the probe must not move the run's RNG
        net = models.create(model_name, num_classes=2, in_channels=in_channels).eval()
        try:
            with torch.no_grad():
                net(torch.zeros(1, in_channels, size, size))
        except (RuntimeError, ValueError):
            return False
    return True


@lru_cache(maxsize=64)
def smallest_input_size(model_name: str, in_channels: int, limit: int = 512) -> int | None:
    """The smallest square input size (pixels) at which ``model_name`` runs a forward pass, or None up to
    ``limit`` (binary search: a model that runs at ``s`` runs at every larger size)."""
    if not _runs(model_name, in_channels, limit):
        return None
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if _runs(model_name, in_channels, mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


class ClassificationTask:
    """The classification task of a run (see the module docstring and :mod:`dlprimer.train.contract`).

    ``splits`` holds ``train``/``val``/``test`` (each with ``images [N, C, S, S] float32`` normalized and
    ``labels [N] int64``), per-channel ``mean``/``std`` (of pixels in [0, 1]) and ``class_names``.
    """

    kind = "classification"
    collate = None

    def __init__(self, config: TrainConfig, splits: Any, source: str) -> None:
        self.config = config
        self.splits = splits
        self.source = source
        self.class_names = [str(c) for c in splits.class_names]
        self.num_classes = len(self.class_names)
        self.in_channels = int(splits.train.images.shape[1])
        self.image_size = int(splits.train.images.shape[-1])
        self.mean = np.asarray(splits.mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(splits.std, dtype=np.float64).reshape(-1)
        # the normalized value of a black pixel: the background the digits' shifts reveal
        self.fill = float(-self.mean[0] / self.std[0]) if source == "digits" else 0.0
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    # ------------------------------------------------------------------------------------ building
    @classmethod
    def from_config(cls, config: TrainConfig) -> ClassificationTask:
        """Load the data ``config`` names (the embedded digits, or ``config.data``); raises before any write."""
        if config.data is None:
            from dlprimer.data.digits import load_digits_arrays

            size = config.image_size or DIGITS_IMAGE_SIZE
            return cls(config, load_digits_arrays(config.seed, size), "digits")
        from dlprimer.data.images import load_image_folder

        splits = load_image_folder(config.data, image_size=config.image_size or FOLDER_IMAGE_SIZE,
                                   val_split=config.val_split, test_split=config.test_split, seed=config.seed,
                                   skip_bad_images=config.skip_bad_images)
        return cls(config, splits, "folder")

    def build_model(self, config: TrainConfig) -> nn.Module:
        """The zoo model with ``num_classes`` outputs; one-line ``ValueError`` if it cannot run at the size."""
        from dlprimer import models

        if not _runs(config.model, self.in_channels, self.image_size):
            smallest = smallest_input_size(config.model, self.in_channels)
            hint = f"use --image-size {smallest} or larger" if smallest else "no size up to 512 works"
            raise ValueError(f"model {config.model!r} cannot run on {self.image_size}x{self.image_size} "
                             f"images; {hint}")
        return models.create(config.model, num_classes=self.num_classes, in_channels=self.in_channels)

    def data_info(self) -> dict[str, Any]:
        return {"source": self.source, "num_classes": self.num_classes, "in_channels": self.in_channels,
                "image_size": self.image_size, "class_names": self.class_names}

    # ------------------------------------------------------------------------------------ training
    def train_dataset(self) -> torch.utils.data.Dataset:
        from dlprimer.data._tensor_dataset import ArrayDataset

        return ArrayDataset(self.splits.train.images, self.splits.train.labels)

    def augment_batch(self, images: torch.Tensor, targets: torch.Tensor,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        from dlprimer.train.shift import random_shift

        return random_shift(images, self.config.shift, generator, self.fill), targets

    def compute_loss(self, model: nn.Module, images: torch.Tensor,
                     targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits = model(images)
        loss = self.criterion(logits.float(), targets)
        return loss, {"accuracy": float((logits.argmax(1) == targets).float().mean())}

    # ------------------------------------------------------------------------------------ evaluation
    def split(self, name: str) -> Any:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self.splits, name)

    def evaluate(self, engine: Any, split: str) -> dict[str, float]:
        part = self.split(split)
        logits = engine.predict(part.images)
        return {"loss": cross_entropy(logits, part.labels), "accuracy": accuracy(part.labels, logits.argmax(1))}

    def summary(self, engine: Any, logits: np.ndarray | None = None) -> dict[str, Any]:
        """Test metrics of ``engine`` (or of given test-split ``logits``, e.g. an ensemble's mean)."""
        test = self.splits.test
        if logits is None:
            logits = engine.predict(test.images)
        pred = logits.argmax(1)
        k = self.num_classes
        prf = per_class_prf(test.labels, pred, num_classes=k)
        return {
            "model": self.config.model,
            "engine": self.config.engine,
            "test_accuracy": accuracy(test.labels, pred),
            "test_loss": cross_entropy(logits, test.labels),
            "macro_f1": precision_recall_f1(test.labels, pred, "macro", num_classes=k)[2],
            "macro_f1_mean": precision_recall_f1(test.labels, pred, "macro_f1_mean", num_classes=k)[2],
            "per_class": {
                self.class_names[c]: {"precision": float(prf["precision"][c]), "recall": float(prf["recall"][c]),
                                      "f1": float(prf["f1"][c]), "support": int(prf["support"][c])}
                for c in range(k)
            },
            "confusion_matrix": confusion_matrix(test.labels, pred, num_classes=k).tolist(),
        }

    def figures(self, engine: Any, history: list[dict[str, Any]], run_dir: Path,
                summary: dict[str, Any] | None = None) -> None:
        from dlprimer.train.plots import plot_confusion, plot_curves

        if history:
            plot_curves(history, run_dir / "curves.png")
        matrix = np.asarray((summary or self.summary(engine))["confusion_matrix"])
        plot_confusion(matrix, run_dir / "confusion.png")
