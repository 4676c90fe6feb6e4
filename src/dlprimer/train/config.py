"""``TrainConfig``: every option of a training run, in one dataclass (saved as ``config.json``).

Each field carries its command-line help in ``metadata["help"]``; ``dlprimer train``'s options are generated
from these fields (name, type, default, help live here and nowhere else). Units are in the names
(``warmup_epochs``, ``lr`` per optimizer step, ``image_size`` in pixels).

Importing this module does not import torch (the CLI reads the defaults before any work starts).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dlprimer._checks import check_bool, check_choice, check_float, check_int, check_type

ENGINES = ("torch", "scratch")
DEVICES = ("auto", "cpu", "cuda")
MONITORS = ("val_loss", "val_accuracy")
LOGGERS = ("none", "csv", "tensorboard")
MAX_SEED = 2**32 - 1

#: Defaults that depend on the data, applied by :meth:`TrainConfig.validate` to options left at ``None``
#: ("digits": the embedded digits; "folder": ``--data DIR``). Measured by ``benchmarks/folder_defaults.py``: on
#: a small RGB folder (4 classes, 300 images) the digits' SGD lr 0.05 diverges or stays at chance for 3 of 3
#: seeds; lr 0.005 reaches 0.99 mean test accuracy (LeNet-5, 64 px, 20 epochs, batch 32: ~5 s on one CPU
#: thread) and stays there at batch 16 and 8, where lr 0.01 diverged for one seed of three.
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"lr": 0.05},
    "folder": {"lr": 0.005},
}


def option(default: Any, help: str, **meta: Any) -> Any:  # noqa: A002 - "help" is the CLI's word
    """A config field whose ``metadata["help"]`` is its command-line help (``cli=False``: not an option)."""
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class TrainConfig:
    """Options of :func:`dlprimer.train.fit` (one field = one ``dlprimer train --option``).

    ``warmup_epochs`` epochs of linear warmup precede the schedule; when they would cover the whole run, the
    warmup stops one step short of the end so that the schedule still starts.

    The defaults (LeNet-5 on 32×32 digits, SGD with momentum, cosine decay with one warmup epoch, ±2 pixel
    shifts) reach ≥ 0.97 test accuracy in well under two minutes on two CPU cores. ``image_size=None`` means
    the data's default: 32 for the digits, 64 for an image folder (see ``dlprimer.data.images``). Likewise
    ``lr=None`` means the data's default from :data:`DATA_DEFAULTS` (0.05 digits, 0.005 image folders), filled
    in by :meth:`validate` so that ``config.json`` records the value used; an explicit value always wins.
    For an image folder the defaults were picked by measurement (``benchmarks/folder_defaults.py``).
    """

    model: str = option("lenet5", "model name (dlprimer.models.list_models())")
    engine: str = option("torch", "torch, or scratch (the NumPy engine; lenet5 only)")
    data: str | None = option(None, "image folder (one sub-folder per class; train/val/test inside when split); "
                                  "default: the embedded digits")
    epochs: int = option(20, "number of epochs (on --resume: extend the run to this many)")
    batch_size: int = option(32, "images per optimizer step (global over all processes under torchrun)")
    optimizer: str = option("sgd", "optimizer name (sgd, adam, adamw)")
    lr: float | None = option(None, "peak learning rate (default: 0.05 digits, 0.005 image folders)")
    momentum: float = option(0.9, "SGD momentum")
    nesterov: bool = option(False, "Nesterov momentum (SGD)")
    weight_decay: float = option(5e-4, "L2 weight decay (decoupled for adamw)")
    schedule: str = option("cosine", "learning-rate schedule, stepped per batch (dlprimer.schedules)")
    warmup_epochs: int = option(1, "linear warmup, in epochs")
    label_smoothing: float = option(0.0, "label smoothing epsilon in [0, 1]")
    clip_grad: float | None = option(None, "clip the global gradient norm to this")
    amp: bool = option(False, "mixed precision (bf16 on CPU, fp16 + GradScaler on CUDA)")
    device: str = option("auto", "auto, cpu or cuda")
    seed: int = option(0, "seed of the split, the initialization and the batches")
    init: str = option("kaiming_normal", "weight initialization scheme (dlprimer.nn.init)")
    shift: int = option(2, "random shift augmentation, +/- pixels")
    augment: str = option("", "comma-separated augmentations for image folders, e.g. hflip,color")
    image_size: int | None = option(None, "input size in pixels (default: 32 digits, 64 image folders)")
    val_split: float = option(0.1, "validation share of an image folder without val/")
    test_split: float = option(0.2, "test share of an image folder without test/")
    skip_bad_images: bool = option(False, "skip unreadable images with a warning instead of stopping")
    workers: int = option(0, "DataLoader worker processes")
    early_stop: int | None = option(None, "stop after this many epochs without improvement; keep best.pt")
    monitor: str = option("val_loss", "what early stopping watches: val_loss or val_accuracy")
    log: str = option("none", "extra metric log: none, csv or tensorboard")
    init_from: str | None = option(None, "start from an earlier run's weights (RUN_DIR; a new head)")
    pretrained: str | None = option(None, "start from a torchvision-layout state_dict file (weights_only; a new head)")
    finetune: str = option("", "fine-tuning stages, e.g. head,top-half,all (with --stage-epochs)")
    stage_epochs: str = option("", "epochs per fine-tuning stage, e.g. 3,3,4 (replaces --epochs)")
    layer_lr_decay: float = option(1.0, "learning rate x this per layer level below the head (1: off)")
    classes: str = option("", "train on these classes only, e.g. 5,6,7,8,9 (names; relabelled in this order)")
    label_fraction: float = option(1.0, "keep this stratified fraction of the training labels")
    cv_folds: int | None = option(None, "cross-validation: number of folds (set by dlprimer cv)", cli=False)
    cv_fold: int | None = option(None, "cross-validation: this run's fold, 0-based (set by dlprimer cv)", cli=False)
    out: str = option("runs", "parent folder of run folders")
    name: str | None = option(None, "run folder name (default <model>-<YYYYmmdd-HHMMSS>)")

    # --------------------------------------------------------------------------------------- checks
    def validate(self) -> TrainConfig:
        """Raise ``ValueError``/``TypeError`` naming the first bad option; return ``self``.

        ``stage_epochs`` replaces ``epochs``: when it is given, ``epochs`` is set to its sum first. Options left
        at ``None`` that have a data-dependent default (:data:`DATA_DEFAULTS`) are filled in first.

        Checks every value that can be checked without data or a device (the device and the data are checked
        by :func:`dlprimer.train.fit` before the run folder is claimed).
        """
        from dlprimer import models, schedules
        from dlprimer.nn.init import list_inits
        from dlprimer.train.recipe import OPTIMIZERS

        if isinstance(self.stage_epochs, str) and self.stage_epochs.strip():
            self.epochs = sum(self.stage_epoch_counts())
        check_type(self.model, "model", str)
        if self.model not in models.list_models():
            raise ValueError(f"unknown model {self.model!r}; known models: {', '.join(models.list_models())}")
        check_choice(self.engine, "engine", ENGINES)
        if self.engine == "scratch":
            if self.model != "lenet5":
                raise ValueError(f"the scratch engine trains only lenet5, got model {self.model!r}")
            if self.amp or self.clip_grad is not None or self.device == "cuda":
                raise ValueError("the scratch engine runs on the CPU without --amp or --clip-grad")
            if self.data is not None or self.augment:
                raise ValueError("the scratch engine trains on the embedded digits only (no --data, --augment)")
            if self.init_from or self.pretrained or self.finetune or self.layer_lr_decay != 1.0:
                raise ValueError("the scratch engine does not fine-tune (no --init-from, --pretrained, --finetune, "
                                 "--layer-lr-decay)")
        if self.data is not None:
            check_type(self.data, "data", str)
        self.apply_data_defaults()
        check_int(self.epochs, "epochs", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        OPTIMIZERS.get(self.optimizer)
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.momentum, "momentum", low=0.0, high=1.0)
        check_bool(self.nesterov, "nesterov")
        check_float(self.weight_decay, "weight_decay", low=0.0)
        if self.schedule not in schedules.list_schedules():
            raise ValueError(
                f"unknown schedule {self.schedule!r}; known schedules: {', '.join(schedules.list_schedules())}"
            )
        check_int(self.warmup_epochs, "warmup_epochs", low=0, high=self.epochs)
        check_float(self.label_smoothing, "label_smoothing", low=0.0, high=1.0)
        if self.clip_grad is not None:
            check_float(self.clip_grad, "clip_grad", low=0.0, low_open=True)
        check_bool(self.amp, "amp")
        check_choice(self.device, "device", DEVICES)
        check_int(self.seed, "seed", low=0, high=MAX_SEED)
        check_type(self.init, "init", str)
        if self.init not in list_inits():
            raise ValueError(f"unknown init scheme {self.init!r}; known schemes: {', '.join(list_inits())}")
        if self.image_size is not None:
            check_int(self.image_size, "image_size", low=8, high=512)
        check_int(self.shift, "shift", low=0, high=(self.image_size or 32) - 1)
        check_type(self.augment, "augment", str)
        check_float(self.val_split, "val_split", low=0.0, high=0.5, low_open=True)
        check_float(self.test_split, "test_split", low=0.0, high=0.5, low_open=True)
        check_bool(self.skip_bad_images, "skip_bad_images")
        check_int(self.workers, "workers", low=0, high=64)
        if self.early_stop is not None:
            check_int(self.early_stop, "early_stop", low=1)
        check_choice(self.monitor, "monitor", MONITORS)
        check_choice(self.log, "log", LOGGERS)
        self._validate_finetuning()
        if (self.cv_folds is None) != (self.cv_fold is None):
            raise ValueError("cv_folds and cv_fold are given together (dlprimer cv sets them)")
        if self.cv_folds is not None:
            check_int(self.cv_folds, "folds", low=2, high=50)
            check_int(self.cv_fold, "cv_fold", low=0, high=self.cv_folds - 1)
        check_type(self.out, "out", str)
        if self.name is not None:
            check_type(self.name, "name", str)
            if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", "..") \
                    or self.name.startswith("."):
                raise ValueError(f"name must be a plain folder name (no '/', not starting with '.'), got {self.name!r}")
        return self

    def _validate_finetuning(self) -> None:
        from dlprimer.train.finetune import STAGES

        if self.init_from is not None and self.pretrained is not None:
            raise ValueError("give --init-from or --pretrained, not both")
        for name in ("init_from", "pretrained"):
            if getattr(self, name) is not None:
                check_type(getattr(self, name), name, str)
        check_type(self.finetune, "finetune", str)
        check_type(self.stage_epochs, "stage_epochs", str)
        stages = [s.strip() for s in self.finetune.split(",") if s.strip()]
        for stage in stages:
            check_choice(stage, "finetune stage", STAGES)
        if stages or self.stage_epochs:
            counts = self.stage_epoch_counts()
            if len(counts) != len(stages):
                raise ValueError(f"--stage-epochs needs one count per --finetune stage ({len(stages)}), got "
                                 f"{self.stage_epochs!r}")
            if self.epochs != sum(counts):
                raise ValueError(f"epochs ({self.epochs}) must equal the sum of stage_epochs ({sum(counts)})")
        check_float(self.layer_lr_decay, "layer_lr_decay", low=0.0, high=1.0, low_open=True)
        check_type(self.classes, "classes", str)
        names = [c.strip() for c in self.classes.split(",") if c.strip()]
        if self.classes and (len(names) < 2 or len(set(names)) != len(names)):
            raise ValueError(f"classes must name at least 2 distinct classes, got {self.classes!r}")
        check_float(self.label_fraction, "label_fraction", low=0.0, high=1.0, low_open=True)

    def apply_data_defaults(self) -> TrainConfig:
        """Fill options left at ``None`` with :data:`DATA_DEFAULTS` for this config's data; return ``self``."""
        for name, value in DATA_DEFAULTS["digits" if self.data is None else "folder"].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        return self

    def stage_epoch_counts(self) -> list[int]:
        """``stage_epochs`` as ints (empty when not fine-tuning)."""
        try:
            counts = [int(c) for c in self.stage_epochs.split(",") if c.strip()]
        except ValueError:
            raise ValueError(f"stage_epochs must be comma-separated integers, got {self.stage_epochs!r}") from None
        if any(c < 1 for c in counts):
            raise ValueError(f"stage_epochs must be positive, got {self.stage_epochs!r}")
        return counts

    def finetune_stages(self) -> list[str]:
        return [s.strip() for s in self.finetune.split(",") if s.strip()]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from a dict (as saved in ``config.json``); unknown keys raise ``ValueError``.

        ``warmup`` (the name before ``warmup_epochs``) is read as ``warmup_epochs``.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a config must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        if "warmup" in data and "warmup_epochs" not in data:
            data["warmup_epochs"] = data.pop("warmup")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)


def option_fields(cls: type = TrainConfig) -> list[dataclasses.Field[Any]]:
    """The fields of config class ``cls`` (:class:`TrainConfig`, ``DetectConfig``) that are command-line options,
    in declaration order."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]
