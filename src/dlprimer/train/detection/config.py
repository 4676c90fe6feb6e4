"""``DetectConfig``: every setting of a detection run (saved as the run folder's ``config.json``).

The options the one training engine reads (:mod:`dlprimer.train.torch_engine`, :mod:`dlprimer.train.engine`)
carry the same names and meanings as in :class:`dlprimer.train.config.TrainConfig` — ``epochs``,
``batch_size``, ``optimizer``, ``lr``, ``momentum``, ``nesterov``, ``weight_decay``, ``schedule``,
``warmup_epochs``, ``clip_grad``, ``amp``, ``device``, ``seed``, ``workers``, ``early_stop``, ``monitor``,
``log``, ``out``, ``name`` — so one loop, run folder, checkpoint and resume serve both tasks. The rest is
detection's own (model size, data, augmentation pipeline, EMA, evaluation).

Per-model defaults (:data:`MODEL_DEFAULTS`): options left at ``None`` take the model's value when the config
is built, so ``config.json`` records what was used. They were chosen by ``benchmarks/bench_detect.py`` on the
embedded scenes (2 CPU cores): each model's defaults reach test AP50 ≥ 0.85 within 15 minutes.

Importing this module does not import torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from dlprimer._checks import check_bool, check_choice, check_float, check_int, check_type
from dlprimer.train.config import LOGGERS, MAX_SEED, option

__all__ = ["DEFAULT_MODEL", "MODEL_DEFAULTS", "DetectConfig"]

DEFAULT_MODEL = "centernet"
MODELS = ("yolo", "fcos", "centernet", "fasterrcnn")
MONITORS = ("val_AP", "val_AP50")

#: Options whose default depends on the model (applied to fields left at ``None``; an explicit value wins).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "centernet": {"epochs": 7},
    "yolo": {"epochs": 12},
    "fcos": {"epochs": 12},
    "fasterrcnn": {"epochs": 5},
}


@dataclass
class DetectConfig:
    """A detection run. ``data=None``: the embedded digit scenes (``n_train``/``n_val``/``n_test``, ``scene_seed``);
    otherwise a COCO-format folder. ``augment``: comma-separated pipeline names of :mod:`dlprimer.augment`
    (``mosaic``, ``affine``, ``scale``, ``color``, ``copy_paste``, ``mixup``, ``noise``, ... ; ``none``);
    ``mosaic_p``: probability of mosaic per sample; ``eval_every``: validation mAP every that many epochs (and
    after the last); ``close_mosaic``: the last epochs train without multi-sample mixing (YOLOv8's trick);
    ``ema``: evaluate and save an exponential moving average of the weights (:mod:`dlprimer.train.ema`).
    ``epochs=None``: the model's default (:data:`MODEL_DEFAULTS`)."""

    kind: ClassVar[str] = "detection"
    engine: ClassVar[str] = "torch"

    model: str = option(DEFAULT_MODEL, "yolo, fcos, centernet or fasterrcnn")
    data: str | None = option(None, "COCO-format folder (images/<split>/, annotations/instances_<split>.json); "
                                     "default: the embedded digit scenes")
    image_size: int = option(128, "network input side in pixels (images letterboxed), divisible by 32")
    epochs: int | None = option(None, "number of epochs (default per model: "
                                + ", ".join(f"{m} {d['epochs']}" for m, d in MODEL_DEFAULTS.items())
                                + "; on --resume: extend the run to this many)")
    batch_size: int = option(32, "images per optimizer step (global over all processes under torchrun)")
    lr: float = option(0.004, "peak learning rate")
    momentum: float = option(0.937, "SGD momentum")
    nesterov: bool = option(True, "Nesterov momentum (SGD)")
    weight_decay: float = option(0.0005, "weight decay (not on biases and normalization weights)")
    optimizer: str = option("adamw", "sgd, adam or adamw")
    schedule: str = option("cosine", "learning-rate schedule, stepped per batch (dlprimer.schedules)")
    warmup_epochs: int = option(1, "linear warmup, in epochs")
    clip_grad: float | None = option(10.0, "clip the global gradient norm to this")
    ema: bool = option(True, "evaluate and save an exponential moving average of the weights")
    ema_decay: float = option(0.999, "EMA decay d (ema = d*ema + (1-d)*weights, with warm-up)")
    augment: str = option("mosaic,affine,color", "augmentation pipeline, comma-separated (dlprimer augment list), "
                                                 "or none")
    mosaic_p: float = option(0.5, "probability of each multi-sample op (mosaic, mixup, copy_paste) per sample")
    close_mosaic: int = option(1, "the last N epochs train without multi-sample ops")
    eval_every: int = option(5, "validation mAP every N epochs (and after the last)")
    width: int = option(16, "backbone base channels")
    neck_channels: int = option(64, "neck channels (multiple of 8)")
    backbone: str = option("csp", "csp or resnet18")
    seed: int = option(0, "seed of initialization, batches and augmentation")
    scene_seed: int = option(0, "embedded scenes: seed of the scenes and of the digit split")
    n_train: int = option(4000, "embedded scenes: training images")
    n_val: int = option(500, "embedded scenes: validation images")
    n_test: int = option(1000, "embedded scenes: test images")
    score_threshold: float = option(0.001, "drop detections below this score (evaluation)")
    nms: str = option("hard", "hard, soft-linear, soft-gaussian, voting or diou")
    iou_threshold: float = option(0.6, "NMS IoU threshold")
    max_dets: int = option(100, "detections kept per image")
    device: str = option("auto", "auto, cpu or cuda")
    amp: bool = option(False, "mixed precision (bf16 on CPU, fp16 + GradScaler on CUDA)")
    workers: int = option(0, "DataLoader worker processes")
    early_stop: int | None = option(None, "stop after this many epochs without improvement of --monitor")
    monitor: str = option("val_AP", "what early stopping watches: val_AP or val_AP50")
    log: str = option("none", "extra metric log: none, csv or tensorboard")
    out: str = option("runs", "parent folder of run folders")
    name: str | None = option(None, "run folder name (default <model>-<YYYYmmdd-HHMMSS>)")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> DetectConfig:
        """Raise ``ValueError``/``TypeError`` naming the first bad option; fill per-model defaults; return ``self``."""
        check_choice(self.model, "model", MODELS)
        for name, value in MODEL_DEFAULTS[self.model].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.data is not None:
            check_type(self.data, "data", str)
        check_int(self.image_size, "image_size", low=32)
        if self.image_size % 32:
            raise ValueError(f"--image-size must be divisible by the largest stride 32, got {self.image_size}")
        check_int(self.epochs, "epochs", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.momentum, "momentum", low=0.0, high=1.0)
        check_bool(self.nesterov, "nesterov")
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_choice(self.optimizer, "optimizer", ("sgd", "adam", "adamw"))
        check_type(self.schedule, "schedule", str)
        check_int(self.warmup_epochs, "warmup_epochs", low=0, high=self.epochs)
        if self.clip_grad is not None:
            check_float(self.clip_grad, "clip_grad", low=0.0, low_open=True)
        check_bool(self.ema, "ema")
        check_float(self.ema_decay, "ema_decay", low=0.0, high=1.0, high_open=True)
        check_type(self.augment, "augment", str)
        check_float(self.mosaic_p, "mosaic_p", low=0.0, high=1.0)
        check_int(self.close_mosaic, "close_mosaic", low=0)
        check_int(self.eval_every, "eval_every", low=1)
        check_int(self.width, "width", low=8)
        check_int(self.neck_channels, "neck_channels", low=8)
        if self.neck_channels % 8:
            raise ValueError(f"neck_channels must be a multiple of 8, got {self.neck_channels}")
        check_choice(self.backbone, "backbone", ("csp", "resnet18"))
        check_int(self.seed, "seed", low=0, high=MAX_SEED)
        check_int(self.scene_seed, "scene_seed", low=0, high=MAX_SEED)
        for name in ("n_train", "n_val", "n_test"):
            check_int(getattr(self, name), name, low=1)
        check_float(self.score_threshold, "score_threshold", low=0.0, high=1.0)
        check_choice(self.nms, "nms", ("hard", "soft-linear", "soft-gaussian", "voting", "diou"))
        if self.model == "fasterrcnn" and self.nms != "hard":
            raise ValueError(f"--nms {self.nms!r} is not available for fasterrcnn (torchvision's RoIHeads runs "
                             "hard NMS)")
        check_float(self.iou_threshold, "iou_threshold", low=0.0, high=1.0)
        check_int(self.max_dets, "max_dets", low=1)
        check_choice(self.device, "device", ("cpu", "cuda", "auto"))
        check_bool(self.amp, "amp")
        check_int(self.workers, "workers", low=0, high=64)
        if self.early_stop is not None:
            check_int(self.early_stop, "early_stop", low=1)
            if self.early_stop < self.eval_every:
                raise ValueError(f"--early-stop {self.early_stop} must be at least --eval-every {self.eval_every} "
                                 "(validation mAP is measured every --eval-every epochs)")
        check_choice(self.monitor, "monitor", MONITORS)
        check_choice(self.log, "log", LOGGERS)
        check_type(self.out, "out", str)
        if self.name is not None:
            check_type(self.name, "name", str)
            if not self.name or "/" in self.name or "\\" in self.name or self.name.startswith("."):
                raise ValueError(f"name must be a plain folder name (no '/', not starting with '.'), got {self.name!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The fields plus ``"task": "detection"`` (how a run folder's ``config.json`` names its task)."""
        return {"task": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectConfig:
        """Build a config from a dict (as saved in ``config.json``); unknown keys raise ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError(f"a config must be a JSON object, got {type(data).__name__}")
        data = {k: v for k, v in data.items() if k != "task"}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)
