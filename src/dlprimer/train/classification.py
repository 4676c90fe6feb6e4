"""``ClassificationTask``: image classification on the embedded digits or on an image folder.

It implements the :class:`dlprimer.train.contract.Task` contract: the data (train/val/test arrays normalized
with the training split's per-channel statistics), the zoo model with a head for ``num_classes`` (input-size
checked: a model that cannot run at ``image_size`` is a one-line error naming the smallest size that works),
cross-entropy with label smoothing, validation loss/accuracy, and the test summary (accuracy, per-class
precision/recall/F1, the confusion matrix; macro F1 as the notes define it, ``2·P̄·R̄/(P̄+R̄)``, next to the
mean of per-class F1).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Part:
    images: np.ndarray
    labels: np.ndarray
    raw: np.ndarray | None = None


@dataclass(frozen=True)
class _FoldSplits:
    train: _Part
    val: _Part
    test: _Part
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]


def cv_fold_indices(labels: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Stratified k-fold (``sklearn.model_selection.StratifiedKFold``, shuffled by ``seed``): the sorted
    validation indices of each fold. The folds are disjoint and cover every sample once."""
    from sklearn.model_selection import StratifiedKFold

    kfold = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    try:
        return [np.sort(val) for _, val in kfold.split(np.zeros(len(labels)), labels)]
    except ValueError as exc:
        raise ValueError(f"--folds {folds}: {exc}") from None


def cv_fold_split(splits: Any, folds: int, fold: int, seed: int) -> _FoldSplits:
    """Pool ``splits.train`` and ``splits.val``; fold ``fold`` of :func:`cv_fold_indices` becomes val, the rest
    train; the test split stays. Images are re-normalized with the fold's training statistics."""
    mean = np.asarray(splits.mean, dtype=np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(splits.std, dtype=np.float64).reshape(1, -1, 1, 1)
    pool = np.concatenate([splits.train.images, splits.val.images]).astype(np.float64) * std + mean  # [0, 1]
    labels = np.concatenate([splits.train.labels, splits.val.labels])
    raws = [getattr(splits.train, "raw", None), getattr(splits.val, "raw", None)]
    raw = np.concatenate(raws) if all(r is not None for r in raws) else None
    test = splits.test.images.astype(np.float64) * std + mean
    val_idx = cv_fold_indices(labels, folds, seed)[fold]
    train_idx = np.setdiff1d(np.arange(labels.size), val_idx)
    m = pool[train_idx].mean(axis=(0, 2, 3), keepdims=True)
    s = np.maximum(pool[train_idx].std(axis=(0, 2, 3), keepdims=True), 1e-6)

    def part(x: np.ndarray, y: np.ndarray, r: np.ndarray | None) -> _Part:
        return _Part(images=((x - m) / s).astype(np.float32), labels=y, raw=r)

    return _FoldSplits(
        train=part(pool[train_idx], labels[train_idx], None if raw is None else raw[train_idx]),
        val=part(pool[val_idx], labels[val_idx], None if raw is None else raw[val_idx]),
        test=part(test, splits.test.labels, getattr(splits.test, "raw", None)),
        mean=tuple(float(v) for v in m.reshape(-1)), std=tuple(float(v) for v in s.reshape(-1)),
        class_names=tuple(splits.class_names))


def _subset(part: Any, index: np.ndarray, labels: np.ndarray | None = None) -> _Part:
    raw = getattr(part, "raw", None)
    return _Part(images=part.images[index], labels=part.labels[index] if labels is None else labels,
                 raw=None if raw is None else raw[index])


def select_classes(splits: Any, names: list[str]) -> _FoldSplits:
    """Only the classes ``names`` (relabelled 0..k-1 in that order); the normalization statistics stay."""
    known = [str(c) for c in splits.class_names]
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"--classes: unknown class {missing[0]!r}; known classes: {', '.join(known)}")
    old = np.array([known.index(n) for n in names])
    lookup = np.full(len(known), -1)
    lookup[old] = np.arange(len(names))

    def part(p: Any) -> _Part:
        index = np.flatnonzero(np.isin(p.labels, old))
        return _subset(p, index, lookup[p.labels[index]].astype(np.int64))

    return _FoldSplits(train=part(splits.train), val=part(splits.val), test=part(splits.test),
                       mean=tuple(np.atleast_1d(splits.mean)), std=tuple(np.atleast_1d(splits.std)),
                       class_names=tuple(names))


def keep_label_fraction(splits: Any, fraction: float, seed: int) -> _FoldSplits:
    """A stratified ``fraction`` of the training split (seeded); val and test stay whole."""
    from sklearn.model_selection import train_test_split

    labels = splits.train.labels
    index = np.arange(labels.size)
    k = len(splits.class_names)
    n_keep = max(k, int(round(fraction * labels.size)))
    if n_keep < labels.size:
        try:
            index, _ = train_test_split(index, train_size=n_keep, stratify=labels, random_state=seed)
        except ValueError as exc:
            raise ValueError(f"--label-fraction {fraction}: {exc}") from None
    return _FoldSplits(train=_subset(splits.train, np.sort(index)), val=_subset(splits.val, slice(None)),
                       test=_subset(splits.test, slice(None)), mean=tuple(np.atleast_1d(splits.mean)),
                       std=tuple(np.atleast_1d(splits.std)), class_names=tuple(splits.class_names))


def build_augmentations(spec: str) -> list[Any]:
    """Transforms of ``--augment`` (comma-separated names of the ``dlprimer.augment`` registry).

    Flips get ``p = 0.5`` (the registry's preview default is 1). Multi-sample ops (mosaic, mixup, copy_paste)
    are detection tools and are refused here.
    """
    from dlprimer.augment.registry import MULTI_SAMPLE, create

    names = [n.strip() for n in spec.split(",") if n.strip()]
    ops = []
    for name in names:
        if name in MULTI_SAMPLE:
            raise ValueError(f"--augment {name!r} mixes several samples (detection); use single-image ops")
        ops.append(create(name, p=0.5) if name in ("hflip", "vflip") else create(name))
    return ops


class AugmentedImages(torch.utils.data.Dataset):
    """Training images augmented per sample: ``raw [N, C, S, S] uint8`` → ops → resized back to ``S × S`` →
    ``[0, 1]`` → normalized. Sample ``i`` of epoch ``e`` draws from a generator seeded by ``(seed, e, i)``, so
    the augmentation is the same whatever ``--workers`` and whether the run was resumed."""

    def __init__(self, raw: np.ndarray, labels: np.ndarray, ops: list[Any], mean: np.ndarray, std: np.ndarray,
                 seed: int) -> None:
        self.raw = torch.from_numpy(np.ascontiguousarray(raw))
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.ops = ops
        self.mean = torch.tensor(np.asarray(mean), dtype=torch.float32).reshape(-1, 1, 1)
        self.std = torch.tensor(np.asarray(std), dtype=torch.float32).reshape(-1, 1, 1)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from dlprimer.augment.functional import resize
        from dlprimer.train.torch_engine import epoch_seed

        g = torch.Generator().manual_seed((epoch_seed(self.seed, self.epoch) + 104_729 * int(index)) % 2**63)
        image = self.raw[index]
        size = tuple(image.shape[-2:])
        for op in self.ops:
            image = op(image, g)
        if tuple(image.shape[-2:]) != size:
            image = resize(image, list(size))
        x = image.float() / 255.0 if not image.is_floating_point() else image.float()
        return (x - self.mean) / self.std, int(self.labels[index])


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
        self.ops = build_augmentations(config.augment)
        if self.ops:
            if source == "digits":
                raise ValueError("--augment applies to --data image folders; the digits use --shift")
            AugmentedImages(splits.train.raw[:1], splits.train.labels[:1], self.ops, self.mean, self.std,
                            config.seed)[0]  # a dry run: an op that cannot handle these images fails now

    # ------------------------------------------------------------------------------------ building
    @classmethod
    def from_config(cls, config: TrainConfig) -> ClassificationTask:
        """Load the data ``config`` names (the embedded digits, or ``config.data``); raises before any write.

        With ``cv_folds``/``cv_fold`` the train and val splits are pooled and re-split by
        :func:`cv_fold_split` (the test split stays); normalization is recomputed on the fold's training part.
        """
        if config.data is None:
            from dlprimer.data.digits import load_digits_arrays

            size = config.image_size or DIGITS_IMAGE_SIZE
            splits, source = load_digits_arrays(config.seed, size), "digits"
        else:
            from dlprimer.data.images import load_image_folder

            splits = load_image_folder(config.data, image_size=config.image_size or FOLDER_IMAGE_SIZE,
                                       val_split=config.val_split, test_split=config.test_split, seed=config.seed,
                                       skip_bad_images=config.skip_bad_images)
            source = "folder"
        if config.classes:
            splits = select_classes(splits, [c.strip() for c in config.classes.split(",") if c.strip()])
        if config.label_fraction < 1.0:
            splits = keep_label_fraction(splits, config.label_fraction, config.seed)
        if config.cv_folds is not None:
            splits = cv_fold_split(splits, config.cv_folds, config.cv_fold, config.seed)
        return cls(config, splits, source)

    def build_model(self, config: TrainConfig) -> nn.Module:
        """The zoo model with ``num_classes`` outputs; one-line ``ValueError`` if it cannot run at the size.

        The smallest size is what the model declares (``min_input_size``), else found by probing forward passes.
        """
        from dlprimer import models

        model = models.create(config.model, num_classes=self.num_classes, in_channels=self.in_channels)
        smallest = getattr(model, "min_input_size", None)
        if smallest is None:
            ok = _runs(config.model, self.in_channels, self.image_size)
            smallest = None if ok else smallest_input_size(config.model, self.in_channels)
        else:
            ok = self.image_size >= smallest
        if not ok:
            hint = f"use --image-size {smallest} or larger" if smallest else "no size up to 512 works"
            raise ValueError(f"model {config.model!r} cannot run on {self.image_size}x{self.image_size} "
                             f"images; {hint}")
        return model

    def data_info(self) -> dict[str, Any]:
        return {"source": self.source, "num_classes": self.num_classes, "in_channels": self.in_channels,
                "image_size": self.image_size, "class_names": self.class_names}

    # ------------------------------------------------------------------------------------ training
    def train_dataset(self) -> torch.utils.data.Dataset:
        from dlprimer.data._tensor_dataset import ArrayDataset

        if not self.ops:
            return ArrayDataset(self.splits.train.images, self.splits.train.labels)
        return AugmentedImages(self.splits.train.raw, self.splits.train.labels, self.ops, self.mean, self.std,
                               self.config.seed)

    def augment_batch(self, images: torch.Tensor, targets: torch.Tensor,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        from dlprimer.augment import random_shift

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
