"""``DetectConfig``: every setting of a detection run (the CLI's options are generated from its fields)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from dlprimer._checks import check_choice, check_float, check_int

__all__ = ["DEFAULT_MODEL", "DetectConfig"]

DEFAULT_MODEL = "centernet"
MODELS = ("yolo", "fcos", "centernet", "fasterrcnn")


@dataclass
class DetectConfig:
    """A detection run. ``data=None``: the embedded digit scenes (``n_train``/``n_val``/``n_test``, ``scene_seed``);
    otherwise a COCO-format folder. ``augment``: comma-separated pipeline names of :mod:`dlprimer.augment`
    (``mosaic``, ``affine``, ``scale``, ``color``, ``copy_paste``, ``mixup``, ``noise``, ... ; ``none``);
    ``mosaic_p``: probability of mosaic per sample; ``eval_every``: validation mAP every that many epochs (and
    after the last); ``close_mosaic``: the last epochs train without multi-sample mixing (YOLOv8's trick)."""

    model: str = DEFAULT_MODEL
    data: str | None = None
    image_size: int = 128
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.004
    weight_decay: float = 0.0005
    optimizer: str = "adamw"
    schedule: str = "cosine"
    warmup: int = 1
    clip_grad: float | None = 10.0
    ema: bool = True
    ema_decay: float = 0.999
    augment: str = "mosaic,affine,color"
    mosaic_p: float = 0.5
    close_mosaic: int = 1
    eval_every: int = 5
    width: int = 16
    neck_channels: int = 64
    backbone: str = "csp"
    seed: int = 0
    scene_seed: int = 0
    n_train: int = 4000
    n_val: int = 500
    n_test: int = 1000
    score_threshold: float = 0.001
    nms: str = "hard"
    iou_threshold: float = 0.6
    max_dets: int = 100
    device: str = "auto"
    amp: bool = False
    out: str = "runs"
    name: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.model, "model", MODELS)
        check_int(self.image_size, "image_size", low=32)
        if self.image_size % 32:
            raise ValueError(f"--image-size must be divisible by the largest stride 32, got {self.image_size}")
        check_int(self.epochs, "epochs", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_choice(self.optimizer, "optimizer", ("sgd", "adam", "adamw"))
        check_int(self.warmup, "warmup", low=0)
        if self.clip_grad is not None:
            check_float(self.clip_grad, "clip_grad", low=0.0, low_open=True)
        check_float(self.ema_decay, "ema_decay", low=0.0, high=1.0, high_open=True)
        check_float(self.mosaic_p, "mosaic_p", low=0.0, high=1.0)
        check_int(self.close_mosaic, "close_mosaic", low=0)
        check_int(self.eval_every, "eval_every", low=1)
        check_int(self.width, "width", low=8)
        check_int(self.neck_channels, "neck_channels", low=8)
        if self.neck_channels % 8:
            raise ValueError(f"neck_channels must be a multiple of 8, got {self.neck_channels}")
        check_choice(self.backbone, "backbone", ("csp", "resnet18"))
        for name in ("seed", "scene_seed", "n_train", "n_val", "n_test"):
            check_int(getattr(self, name), name, low=0 if name.endswith("seed") else 1)
        check_float(self.score_threshold, "score_threshold", low=0.0, high=1.0)
        check_float(self.iou_threshold, "iou_threshold", low=0.0, high=1.0)
        check_int(self.max_dets, "max_dets", low=1)
        check_choice(self.device, "device", ("cpu", "cuda", "auto"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
