"""The training engine: ``fit(TrainConfig) -> RunResult``, ``resume``, ``evaluate_run``, ``predict_images``.

Attributes are imported on first use, so ``import dlprimer.train.config`` (the CLI's option defaults) does
not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Callback": "dlprimer.train.callbacks",
    "CheckpointError": "dlprimer.train.errors",
    "ClassificationTask": "dlprimer.train.classification",
    "DivergedError": "dlprimer.train.errors",
    "Engine": "dlprimer.train.contract",
    "RunFolderError": "dlprimer.train.errors",
    "Task": "dlprimer.train.contract",
    "TrainConfig": "dlprimer.train.config",
    "TrainError": "dlprimer.train.errors",
    "RunResult": "dlprimer.train.engine",
    "evaluate_run": "dlprimer.train.engine",
    "fit": "dlprimer.train.engine",
    "predict_images": "dlprimer.train.engine",
    "resume": "dlprimer.train.engine",
    "seed_everything": "dlprimer.train.seed",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dlprimer.train' has no attribute {name!r}")
