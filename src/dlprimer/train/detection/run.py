"""A detection run on the one engine: ``fit_detection``, ``resume_detection``, ``load_detection_run``.

These are :func:`dlprimer.train.fit` / :func:`dlprimer.train.resume` / :func:`dlprimer.train.engine.load_run`
with a :class:`~dlprimer.train.detection.config.DetectConfig` — the same loop (see
:mod:`dlprimer.train.torch_engine` for the per-batch steps), run folder, checkpoint, resume, crash safety and
callbacks as classification; the detection task (:mod:`.task`) supplies the data, the detector, its loss and
COCO mAP — returning the result as detection users read it (the test stats).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from dlprimer.train.callbacks import Callback
from dlprimer.train.detection.config import DetectConfig
from dlprimer.train.detection.data import DetectionData

__all__ = ["DetectResult", "fit_detection", "load_detection_run", "resume_detection"]


@dataclass
class DetectResult:
    """What :func:`fit_detection` returns: the run folder, the final split's stats (the 12 COCO numbers by name),
    the history and the summary."""

    run_dir: Path
    stats: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _result(run: Any) -> DetectResult:
    return DetectResult(run.run_dir, run.summary.get("stats", {}), run.history, run.summary)


def fit_detection(config: DetectConfig, overwrite: bool = False, callbacks: Sequence[Callback] = (),
                  on_epoch: Callable[[dict[str, Any]], None] | None = None) -> DetectResult:
    """Train a detector and write its run folder ``config.out/config.name`` (bad input leaves no folder)."""
    from dlprimer.train.engine import fit

    return _result(fit(config, overwrite=overwrite, callbacks=callbacks, on_epoch=on_epoch))


def resume_detection(run_dir: str | os.PathLike[str], epochs: int | None = None, callbacks: Sequence[Callback] = (),
                     on_epoch: Callable[[dict[str, Any]], None] | None = None) -> DetectResult:
    """Finish the run in ``run_dir`` from its last checkpoint; it ends as an uninterrupted run would."""
    from dlprimer.train.engine import resume

    return _result(resume(run_dir, epochs=epochs, callbacks=callbacks, on_epoch=on_epoch, kind="detection"))


def load_detection_run(run_dir: str | os.PathLike[str]) -> tuple[DetectConfig, nn.Module, DetectionData]:
    """The config, the trained model (the EMA weights when kept) in eval mode and the data of ``run_dir``."""
    from dlprimer.train.engine import load_run

    config, engine, task = load_run(run_dir, kind="detection")
    return config, engine.eval_model.eval(), task.data
