"""Validation tools against overfitting (the notes' 过拟合的解决办法): k-fold cross-validation and ensembles.

(Early stopping lives in the loop itself: ``TrainConfig.early_stop``; see :mod:`dlprimer.train.engine`.)

* :func:`cross_validate` — stratified k-fold: the train and val splits are pooled and cut into ``folds``
  stratified folds (:func:`dlprimer.train.classification.cv_fold_indices`); run ``i`` validates on fold ``i``
  and trains on the rest (run folder ``OUT/NAME-fold<i>``); the test split is the same for every fold. The
  result is the mean ± standard deviation (``ddof=1``) of each fold's validation and test accuracy.
* :func:`evaluate_ensemble` — runs trained on the same data (same test split) vote by averaging their
  predicted probabilities: ``p_ens = mean_m softmax(logits_m)``; the accuracy of each member and of the ensemble.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlprimer._checks import check_int
from dlprimer.train.callbacks import Callback
from dlprimer.train.classification import softmax
from dlprimer.train.config import TrainConfig
from dlprimer.train.engine import RunResult, default_run_name, fit, load_run, make_task
from dlprimer.train.run_folder import RunFolder


@dataclass
class CVResult:
    """The fold runs and the mean ± std of their validation (best or last epoch) and test accuracy."""

    runs: list[RunResult]
    val_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    def table(self) -> dict[str, Any]:
        def stats(v: list[float]) -> dict[str, float]:
            a = np.asarray(v, dtype=np.float64)
            return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0}

        return {"folds": len(self.runs), "val_accuracy": stats(self.val_accuracy),
                "test_accuracy": stats(self.test_accuracy), "runs": [str(r.run_dir) for r in self.runs]}


def cross_validate(config: TrainConfig, folds: int, overwrite: bool = False,
                   callbacks: Sequence[Callback] = ()) -> CVResult:
    """Train one run per fold (see the module docstring). Every fold's options and run folder are checked
    before the first fold starts."""
    folds = check_int(folds, "folds", low=2, high=50)
    name = default_run_name(config)
    configs = [replace(config, name=f"{name}-fold{i}", cv_folds=folds, cv_fold=i).validate() for i in range(folds)]
    make_task(configs[0])  # the data loads and splits into `folds` stratified folds
    for c in configs:
        RunFolder.check_target(c.out, c.name, overwrite)
    runs, val, test = [], [], []
    for c in configs:
        result = fit(c, overwrite=overwrite, callbacks=callbacks)
        runs.append(result)
        rows = result.history
        best = result.summary.get("best_epoch")
        row = rows[best - 1] if best else rows[-1]
        val.append(float(row["val_accuracy"]))
        test.append(float(result.test_accuracy))
    return CVResult(runs=runs, val_accuracy=val, test_accuracy=test)


def _pixels(task: Any) -> np.ndarray:
    """The test images in [0, 1] (members may normalize differently, e.g. CV folds)."""
    return task.splits.test.images * task.std.reshape(1, -1, 1, 1) + task.mean.reshape(1, -1, 1, 1)


def ensemble_probabilities(run_dirs: Sequence[str | os.PathLike[str]]) -> tuple[np.ndarray, list[np.ndarray], Any]:
    """``(mean probabilities [N, K], each member's probabilities, the first member's task)`` on the test split.

    Members must share the test split (same data, seed and classes; each member normalizes it with its own
    statistics): anything else is a one-line error.
    """
    if len(run_dirs) < 1:
        raise ValueError("give at least one run folder")
    members, task0 = [], None
    for d in run_dirs:
        folder = RunFolder.open(d)
        name = "best.pt" if folder.best.is_file() else "checkpoint.pt"
        _, engine, task = load_run(d, name, kind="classification")
        if task0 is None:
            task0 = task
        elif (task.class_names != task0.class_names or task.splits.test.labels.shape != task0.splits.test.labels.shape
              or not np.array_equal(task.splits.test.labels, task0.splits.test.labels)
              or not np.allclose(_pixels(task), _pixels(task0), atol=1e-4)):
            raise ValueError(f"run {Path(d)} was tested on other data than {Path(run_dirs[0])}; an ensemble needs "
                             "members with the same data and seed")
        members.append(softmax(engine.predict(task.splits.test.images)))
    return np.mean(members, axis=0), members, task0


def evaluate_ensemble(run_dirs: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """Test accuracy of each member and of the ensemble (averaged probabilities), plus the ensemble's summary."""
    mean, members, task = ensemble_probabilities(run_dirs)
    labels = task.splits.test.labels
    summary = task.summary(None, logits=np.log(np.clip(mean, 1e-300, None)))
    return {"members": [{"run": str(d), "test_accuracy": float(np.mean(p.argmax(1) == labels))}
                        for d, p in zip(run_dirs, members, strict=True)],
            "ensemble_accuracy": float(np.mean(mean.argmax(1) == labels)), "summary": summary}
