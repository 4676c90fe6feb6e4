"""``fit``: the training run from configuration to run folder, read top to bottom (the notes' 模型搭建流程).

1. validate the configuration, load the data (the task), resolve the device and build the engine — all before
   the disk is touched, so bad input leaves the file system unchanged; then claim the run folder
   (:mod:`dlprimer.train.run_folder`: marker and ``config.json`` appear together, atomically);
2. seed everything (split and normalization depend on ``seed`` only; each epoch is seeded from ``(seed,
   epoch)``); on ``resume`` check the checkpoint against the run, then restore the engine and RNG states;
3. for each epoch: train (see ``torch_engine`` for the per-batch steps), evaluate on the validation split
   (every ``task.evaluate_every`` epochs and after the last; every epoch unless the task says otherwise),
   append a row to ``metrics.jsonl``, write ``best.pt`` when early stopping saw an improvement, then write
   ``checkpoint.pt`` atomically; stop early after ``early_stop`` epochs without improvement;
4. evaluate on the test split (from the best epoch with early stopping): ``task.summary``;
5. write ``summary.json`` (``status``: ``completed``, ``stopped_early`` or ``diverged``) and the figures.

A non-finite loss stops the run with :class:`~dlprimer.train.errors.DivergedError` (one line: epoch, loss,
hint); the last good checkpoint stays and ``summary.json`` says ``"status": "diverged"``.

Progress display is not the loop's business: pass :class:`~dlprimer.train.callbacks.Callback` objects
(the CLI passes its progress bars).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from dlprimer._checks import check_int
from dlprimer.train import distributed
from dlprimer.train.callbacks import Callback, CallbackList
from dlprimer.train.checkpoint import load_checkpoint, save_checkpoint, validate_checkpoint
from dlprimer.train.classification import ClassificationTask, softmax
from dlprimer.train.config import TrainConfig
from dlprimer.train.errors import DivergedError, RunFolderError
from dlprimer.train.faults import crash_point
from dlprimer.train.run_folder import RunFolder
from dlprimer.train.seed import rng_state, seed_everything, set_rng_state

TIMING_FIELDS = ("time_s",)


@dataclass
class RunResult:
    """What :func:`fit` returns: the run folder, the test accuracy (NaN for a task without one, e.g. detection:
    see ``summary["stats"]``), the per-epoch history and the summary."""

    run_dir: Path
    test_accuracy: float
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """Everything a run needs, built and checked before the run folder is touched."""

    config: TrainConfig
    task: Any
    engine: Any


# ----------------------------------------------------------------------------------------- building
def make_task(config: Any) -> Any:
    """The task of ``config``: classification (:class:`TrainConfig`: the digits or ``config.data``) or detection
    (:class:`dlprimer.train.detection.config.DetectConfig`: the scenes or a COCO folder)."""
    if config_kind(config) == "detection":
        from dlprimer.train.detection.task import DetectionTask

        return DetectionTask.from_config(config)
    return ClassificationTask.from_config(config)


def make_engine(config: Any, task: Any, load_init: bool = True) -> Any:
    """The engine of ``config`` (``torch`` or ``scratch``) for ``task``; the device is checked here.

    ``load_init=False`` skips ``--init-from``/``--pretrained`` (a checkpoint will replace the weights anyway)."""
    if config.engine == "scratch":
        from dlprimer.train.distributed import current

        if current() is not None:
            raise ValueError("--engine scratch is single-process; run it without torchrun / --nproc-per-node")
        from dlprimer.train.scratch_engine import ScratchEngine

        return ScratchEngine(config, task)
    from dlprimer.train.torch_engine import TorchEngine, resolve_device

    return TorchEngine(config, task, resolve_device(config.device), load_init=load_init)


def prepare(config: Any, load_init: bool = True) -> Prepared:
    """Validate ``config``, seed, load the data and build the engine (no file is written)."""
    config.validate()
    from dlprimer.train.loggers import check_logger

    check_logger(config.log)
    seed_everything(config.seed)
    task = make_task(config)
    engine = make_engine(config, task, load_init=load_init)
    return Prepared(config=config, task=task, engine=engine)


COMMANDS = {"classification": "dlprimer train / evaluate / predict / export",
            "detection": "dlprimer detect train / evaluate / predict / compare"}


def config_kind(config: Any) -> str:
    """``"classification"`` (:class:`TrainConfig`) or ``"detection"`` (``DetectConfig``)."""
    return getattr(config, "kind", "classification")


def check_kind(config: Any, kind: str | None, run_dir: str | os.PathLike[str]) -> None:
    """One :class:`RunFolderError` line when the run in ``run_dir`` is not of task ``kind`` (``None``: any)."""
    found = config_kind(config)
    if kind is not None and found != kind:
        raise RunFolderError(f"{run_dir} is a {found} run folder; use {COMMANDS[found]} with it")


def default_run_name(config: Any) -> str:
    return config.name or f"{config.model}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


# ------------------------------------------------------------------------------------------- the run
def fit(
    config: Any,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Train ``config.model`` and write the run folder ``config.out/config.name`` (see the module docstring).

    ``config`` is a :class:`TrainConfig` (classification) or a ``DetectConfig`` (detection): one loop for both.

    ``overwrite=True`` replaces an earlier dlprimer run folder of the same name — only one carrying the
    marker file, and only once this run has started cleanly.
    """
    prepared = prepare(config)  # 1. everything checked before the disk is touched
    if not distributed.is_main():  # under torchrun: rank 0 names and claims the folder; the others only follow it
        claimed = distributed.broadcast_object(None)
        if "error" in claimed:
            raise RunFolderError(claimed["error"])
        path = Path(claimed["path"])
        return _run(prepared, RunFolder(path=path, final=path), state=None, callbacks=(), on_epoch=None)
    try:
        folder = RunFolder.claim(config, default_run_name(config), overwrite)
    except Exception as exc:
        distributed.broadcast_object({"error": f"rank 0 could not claim the run folder: {exc}"})
        raise
    distributed.broadcast_object({"path": str(folder.final)})
    crash_point("after-claim")
    folder.commit_swap()  # the new run started cleanly: now the old one may go
    return _run(prepared, folder, state=None, callbacks=callbacks, on_epoch=on_epoch)


def resume(run_dir: str | os.PathLike[str], epochs: int | None = None, callbacks: Sequence[Callback] = (),
           on_epoch: Callable[[dict[str, Any]], None] | None = None, kind: str | None = None) -> RunResult:
    """Finish the run in ``run_dir``: from its last checkpoint, or from epoch 0 when it has none yet.

    ``epochs`` extends (or shortens, down to the completed epochs) the run to that many epochs; the schedule is
    rebuilt for the new total and continues from the current step. Ends as an uninterrupted run would.
    ``kind`` (``"classification"`` / ``"detection"``): refuse a run folder of the other task.
    """
    folder = RunFolder.open(run_dir)
    config = folder.read_config()
    check_kind(config, kind, run_dir)
    if epochs is not None:
        epochs = check_int(epochs, "epochs", low=1)
        if getattr(config, "stage_epochs", ""):
            raise RunFolderError("this run is staged by --stage-epochs; --epochs cannot extend it")
        config = replace(config, epochs=epochs, warmup_epochs=min(config.warmup_epochs, epochs))
    prepared = prepare(config, load_init=not folder.checkpoint.is_file())
    state = None
    if folder.checkpoint.is_file():
        state = load_checkpoint(folder.checkpoint)
        done = state.get("epoch")
        if epochs is not None and isinstance(done, int) and not isinstance(done, bool) and epochs < done:
            raise RunFolderError(f"--epochs {epochs} is fewer than the {done} epochs {folder.path} has completed")
        validate_checkpoint(state, folder.checkpoint, epochs=config.epochs,
                            engine_template=prepared.engine.state_dict(), model_name=config.model)
        prepared.engine.load_state_dict(state["engine"], source=f"checkpoint {folder.checkpoint}")
        set_rng_state(state["rng"])
    distributed.barrier()  # every rank has read the checkpoint before rank 0 changes the folder
    if distributed.is_main():
        folder.remove_stale_temporaries()  # all checks passed: now the folder may change
        if epochs is not None:
            folder.write_config(config)
            folder.remove_summary()
    return _run(prepared, folder, state=state, callbacks=callbacks, on_epoch=on_epoch)


def _improved(value: float, best: float | None, mode: str) -> bool:
    return best is None or (value < best if mode == "min" else value > best)


def _best_epoch(history: list[dict[str, Any]], monitor: str) -> tuple[int | None, float | None]:
    mode = "min" if monitor.endswith("loss") else "max"
    best_epoch, best = None, None
    for row in history:
        if monitor in row and _improved(row[monitor], best, mode):
            best_epoch, best = row["epoch"], row[monitor]
    return best_epoch, best


def _run(prepared: Prepared, folder: RunFolder, state: dict[str, Any] | None,
         callbacks: Sequence[Callback], on_epoch: Callable[[dict[str, Any]], None] | None) -> RunResult:
    config, task, engine = prepared.config, prepared.task, prepared.engine
    from dlprimer.train.loggers import make_logger

    main = distributed.is_main()  # under torchrun only rank 0 writes files and reports
    logger = make_logger(config.log, folder.path) if main else None
    calls = CallbackList([*callbacks, *([logger] if logger else [])] if main else [], on_epoch if main else None)
    started = time.perf_counter()
    history: list[dict[str, Any]] = []
    first_epoch = 1
    if state is not None:  # 2. resume: the checkpoint's history is the truth
        history = [dict(row) for row in state["history"]]
        first_epoch = int(state["epoch"]) + 1
        started -= float(state.get("elapsed_s", 0.0))
    if main:
        folder.write_metrics(history)
    if state is not None:
        crash_point("during-resume")
    crash_point("after-config")

    def checkpoint_state(epoch: int) -> dict[str, Any]:
        return {"epoch": epoch, "engine": engine.state_dict(), "rng": rng_state(), "history": history,
                "config": config.to_dict(), "data": task.data_info(),
                "elapsed_s": time.perf_counter() - started}

    status = "completed"
    calls.on_start({"epochs": config.epochs, "first_epoch": first_epoch, "steps": engine.steps_per_epoch,
                    "run_dir": folder.path})
    best_epoch, best = _best_epoch(history, config.monitor) if config.early_stop else (None, None)
    mode = "min" if config.monitor.endswith("loss") else "max"
    epoch = first_epoch - 1
    try:
        for epoch in range(first_epoch, config.epochs + 1):  # 3. epochs
            if config.early_stop and best_epoch is not None and epoch - 1 - best_epoch >= config.early_stop:
                status = "stopped_early"
                break
            t0 = time.perf_counter()
            train = engine.train_epoch(epoch, on_batch=calls.on_batch)
            every = getattr(task, "evaluate_every", 1)
            val = task.evaluate(engine, "val") if epoch % every == 0 or epoch == config.epochs else {}
            row = {"epoch": epoch, **train, **{f"val_{k}": v for k, v in val.items()},
                   "time_s": round(time.perf_counter() - t0, 4)}
            if "val_loss" in row and not np.isfinite(row["val_loss"]):
                raise _diverged_on_val(epoch, row["val_loss"])
            history.append(row)
            if main:
                folder.append_metrics(row)
            crash_point("after-metrics-append")
            if config.early_stop and config.monitor in row and _improved(row[config.monitor], best, mode):
                best_epoch, best = epoch, row[config.monitor]
                if main:
                    save_checkpoint(folder.best, checkpoint_state(epoch))
            if main:
                save_checkpoint(folder.checkpoint, checkpoint_state(epoch))
            crash_point("after-checkpoint")
            calls.on_epoch(row)
    except DivergedError as exc:
        if main:
            folder.write_summary({"model": config.model, "status": "diverged", "diverged_at_epoch": exc.epoch,
                                  "loss": str(exc.loss), "epochs_completed": len(history),
                                  "epochs": config.epochs})
        raise
    finally:
        calls.on_close()

    crash_point("before-summary")
    if not main:  # the test metrics, summary and figures are rank 0's
        distributed.barrier()
        return RunResult(run_dir=folder.path, test_accuracy=float("nan"), history=history, summary={})
    if config.early_stop and best_epoch is not None:  # 4. test metrics (from the best epoch)
        engine.load_state_dict(load_checkpoint(folder.best)["engine"], source=f"checkpoint {folder.best}")
    summary = task.summary(engine)
    summary.update({"status": status, "epochs": config.epochs, "epochs_completed": len(history),
                    "data": task.data_info()})
    if config.early_stop:
        summary.update({"monitor": config.monitor, "best_epoch": best_epoch, "best_value": best})
    summary["wall_time_s"] = round(time.perf_counter() - started, 3)
    folder.write_summary(summary)  # 5. outputs
    task.figures(engine, history, folder.path, summary)
    calls.on_end(summary)
    distributed.barrier()
    return RunResult(run_dir=folder.path, test_accuracy=summary.get("test_accuracy", float("nan")), history=history,
                     summary=summary)


def _diverged_on_val(epoch: int, loss: float) -> DivergedError:
    return DivergedError(f"training diverged at epoch {epoch}: the validation loss became {loss}; the last good "
                         "checkpoint is kept; lower --lr or set --clip-grad", epoch=epoch, loss=loss)


# --------------------------------------------------------------------------------- evaluate / predict
def load_run(run_dir: str | os.PathLike[str], checkpoint: str = "checkpoint.pt",
             kind: str | None = None) -> tuple[Any, Any, Any]:
    """The config, an engine holding the checkpoint's weights, and the task of the run in ``run_dir``
    (``kind``: refuse a run folder of the other task with one line)."""
    folder = RunFolder.open(run_dir)
    config = folder.read_config()
    check_kind(config, kind, run_dir)
    prepared = prepare(config, load_init=False)
    path = folder.path / checkpoint
    state = load_checkpoint(path)
    validate_checkpoint(state, path, epochs=config.epochs,
                        engine_template=prepared.engine.state_dict(), model_name=config.model)
    prepared.engine.load_state_dict(state["engine"], source=f"checkpoint {path}")
    return config, prepared.engine, prepared.task


def evaluate_run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Recompute the test metrics of a run from its checkpoint (``best.pt`` when it has one), as in ``summary.json``."""
    folder = RunFolder.open(run_dir)
    name = "best.pt" if folder.best.is_file() else "checkpoint.pt"
    _, engine, task = load_run(run_dir, name, kind="classification")
    return task.summary(engine)


def predict_images(run_dir: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]],
                   top_k: int = 3) -> list[list[tuple[str, float]]]:
    """Top-``k`` ``(class name, probability)`` for each image file.

    Images are decoded by :func:`dlprimer.data.images.read_image` and prepared as the run's training data was
    (:func:`dlprimer.data.images.prepare_for_model`): for the digits, converted to grey and inverted when their
    border is light (the digits are light ink on a dark ground).
    """
    top_k = check_int(top_k, "top_k", low=1)
    if not paths:
        raise ValueError("give at least one image file")
    config, engine, task = load_run(run_dir, kind="classification")
    from dlprimer.data.images import prepare_for_model

    images = np.stack([prepare_for_model(p, task.image_size, task.in_channels, task.mean, task.std,
                                         digits_style=task.source == "digits") for p in paths])
    probs = softmax(engine.predict(images))
    k = min(top_k, task.num_classes)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[(task.class_names[c], float(probs[i, c])) for c in order[i]] for i in range(len(paths))]
