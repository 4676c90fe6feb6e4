"""``fit``: the training run from configuration to run folder, read top to bottom (the notes' 模型搭建流程).

1. validate the configuration and claim the run folder (never overwriting an earlier run by accident);
2. seed everything and load the embedded digits (split and normalization depend on ``seed`` only);
3. build the engine: model + initialization, loss, optimizer, schedule, AMP (``TorchEngine`` or the NumPy
   ``ScratchEngine``); on ``resume`` restore its state and the RNG states from ``checkpoint.pt``;
4. for each epoch: train (see ``torch_engine`` for the per-batch steps), evaluate on the validation split,
   append a row to ``metrics.jsonl``, then write ``checkpoint.pt`` atomically;
5. evaluate on the test split: accuracy, per-class precision/recall/F1, confusion matrix;
6. write ``summary.json``, ``curves.png`` and ``confusion.png``.

A run folder ``OUT/NAME/`` holds ``config.json``, ``metrics.jsonl`` (one JSON object per epoch; the only
timing field is ``time_s``), ``checkpoint.pt``, ``summary.json``, ``curves.png`` and ``confusion.png``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from dlprimer._io import atomic_write_json, atomic_write_text
from dlprimer.data.digits import DigitsSplits, load_digits_arrays
from dlprimer.metrics.classification import accuracy, confusion_matrix, per_class_prf, precision_recall_f1
from dlprimer.train.checkpoint import load_checkpoint, save_checkpoint
from dlprimer.train.config import TrainConfig
from dlprimer.train.seed import rng_state, seed_everything, set_rng_state

TIMING_FIELDS = ("time_s",)
CHECKPOINT = "checkpoint.pt"


@dataclass
class RunResult:
    """What :func:`fit` returns: the run folder, the test accuracy, the per-epoch history and the summary."""

    run_dir: Path
    test_accuracy: float
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------- helpers
def _claim_run_dir(config: TrainConfig, overwrite: bool) -> Path:
    name = config.name or f"{config.model}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(config.out) / name
    if run_dir.exists():
        if not overwrite:
            raise FileExistsError(
                f"run folder {run_dir} already exists; pass --overwrite to replace it or --resume {run_dir} to continue"
            )
        if not run_dir.is_dir():
            raise FileExistsError(f"{run_dir} exists and is not a folder")
        shutil.rmtree(run_dir)
    try:
        run_dir.mkdir(parents=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise OSError(f"cannot write the run folder {run_dir}: {exc.strerror or exc}") from None
    return run_dir


def _make_engine(config: TrainConfig, data: DigitsSplits) -> Any:
    if config.engine == "scratch":
        from dlprimer.train.scratch_engine import ScratchEngine

        return ScratchEngine(config, data)
    from dlprimer.train.torch_engine import TorchEngine, resolve_device

    return TorchEngine(config, data, resolve_device(config.device))


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of float64 logits (stable log-softmax)."""
    if logits.shape[0] == 0:
        return float("nan")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(labels.shape[0]), labels].mean())


def _evaluate(engine: Any, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    logits = engine.logits(images)
    predictions = logits.argmax(axis=1)
    return {"loss": _cross_entropy(logits, labels), "accuracy": accuracy(labels, predictions),
            "predictions": predictions}


def _append_jsonl(path: Path, row: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _test_summary(engine: Any, data: DigitsSplits, config: TrainConfig) -> tuple[dict[str, Any], np.ndarray]:
    result = _evaluate(engine, data.test.images, data.test.labels)
    prf = per_class_prf(data.test.labels, result["predictions"], num_classes=10)
    matrix = confusion_matrix(data.test.labels, result["predictions"], num_classes=10)
    summary = {
        "model": config.model,
        "engine": config.engine,
        "test_accuracy": result["accuracy"],
        "test_loss": result["loss"],
        "macro_f1": precision_recall_f1(data.test.labels, result["predictions"], "macro", num_classes=10)[2],
        "macro_f1_mean": precision_recall_f1(data.test.labels, result["predictions"], "macro_f1_mean",
                                             num_classes=10)[2],
        "per_class": {
            str(k): {"precision": float(prf["precision"][k]), "recall": float(prf["recall"][k]),
                     "f1": float(prf["f1"][k]), "support": int(prf["support"][k])}
            for k in range(10)
        },
        "confusion_matrix": matrix.tolist(),
    }
    return summary, matrix


# ------------------------------------------------------------------------------------------- the run
def fit(
    config: TrainConfig,
    overwrite: bool = False,
    progress: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Train ``config.model`` on the embedded digits and write the run folder (see the module docstring)."""
    config.validate()  # 1. configuration and run folder
    run_dir = _claim_run_dir(config, overwrite)
    atomic_write_json(run_dir / "config.json", config.to_dict())
    return _run(config, run_dir, state=None, progress=progress, on_epoch=on_epoch)


def resume(run_dir: str | os.PathLike[str], progress: bool = False,
           on_epoch: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
    """Continue the run in ``run_dir`` from its last checkpoint; ends as an uninterrupted run would."""
    run_dir = Path(run_dir)
    config = _load_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT)
    return _run(config, run_dir, state=state, progress=progress, on_epoch=on_epoch)


def _load_config(run_dir: Path) -> TrainConfig:
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    path = run_dir / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: {run_dir} is not a dlprimer run folder") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return TrainConfig.from_dict(data).validate()


def _run(config: TrainConfig, run_dir: Path, state: dict[str, Any] | None, progress: bool,
         on_epoch: Callable[[dict[str, Any]], None] | None) -> RunResult:
    started = time.perf_counter()
    seed_everything(config.seed)  # 2. seeds and data
    data = load_digits_arrays(config.seed, config.image_size)
    engine = _make_engine(config, data)  # 3. engine (+ resume)
    history: list[dict[str, Any]] = []
    first_epoch = 1
    if state is not None:
        engine.load_state_dict(state["engine"])
        set_rng_state(state["rng"])
        history = [dict(row) for row in state["history"]]
        first_epoch = int(state["epoch"]) + 1
        elapsed_before = float(state.get("elapsed_s", 0.0))
        started -= elapsed_before
    metrics_path = run_dir / "metrics.jsonl"
    atomic_write_text(metrics_path, "".join(json.dumps(row) + "\n" for row in history))

    bar = _Progress(progress, config.epochs, engine.steps_per_epoch, first_epoch)
    with bar:
        for epoch in range(first_epoch, config.epochs + 1):  # 4. epochs
            t0 = time.perf_counter()
            train = engine.train_epoch(epoch, on_batch=bar.batch)
            val = _evaluate(engine, data.val.images, data.val.labels)
            row = {"epoch": epoch, **train, "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                   "time_s": round(time.perf_counter() - t0, 4)}
            if not all(math.isfinite(v) for k, v in row.items() if k != "epoch"):
                raise FloatingPointError(f"training diverged at epoch {epoch} ({row}); lower --lr or clip gradients")
            history.append(row)
            _append_jsonl(metrics_path, row)
            save_checkpoint(run_dir / CHECKPOINT, {
                "epoch": epoch, "engine": engine.state_dict(), "rng": rng_state(), "history": history,
                "config": config.to_dict(), "elapsed_s": time.perf_counter() - started,
            })
            bar.epoch_done(row)
            if on_epoch is not None:
                on_epoch(row)

    summary, matrix = _test_summary(engine, data, config)  # 5. test metrics
    summary["epochs"] = config.epochs
    summary["wall_time_s"] = round(time.perf_counter() - started, 3)
    atomic_write_json(run_dir / "summary.json", summary)  # 6. outputs
    from dlprimer.train.plots import plot_confusion, plot_curves

    plot_curves(history, run_dir / "curves.png")
    plot_confusion(matrix, run_dir / "confusion.png")
    return RunResult(run_dir=run_dir, test_accuracy=summary["test_accuracy"], history=history, summary=summary)


# --------------------------------------------------------------------------------- evaluate / predict
def load_run(run_dir: str | os.PathLike[str]) -> tuple[TrainConfig, Any, DigitsSplits]:
    """The config, an engine holding the checkpoint's weights, and the data of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    config = _load_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT)
    data = load_digits_arrays(config.seed, config.image_size)
    engine = _make_engine(config, data)
    engine.load_state_dict(state["engine"])
    return config, engine, data


def evaluate_run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Recompute the test metrics of a run from its checkpoint (the same numbers as ``summary.json``)."""
    config, engine, data = load_run(run_dir)
    summary, _ = _test_summary(engine, data, config)
    return summary


def predict_images(run_dir: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]],
                   top_k: int = 3) -> list[list[tuple[int, float]]]:
    """Top-``k`` ``(class, probability)`` for each image file (PNG, or JPEG with Pillow).

    Each image is converted to grey, scaled to [0, 1], inverted when its border is light (the digits are
    light ink on a dark ground), resized to the run's size and normalized with the training statistics.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 10:
        raise ValueError(f"top_k must be an int in [1, 10], got {top_k!r}")
    if not paths:
        raise ValueError("give at least one image file")
    config, engine, data = load_run(run_dir)
    images = np.stack([_read_image(Path(p), config.image_size, data.mean, data.std) for p in paths])
    logits = engine.logits(images)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
    return [[(int(k), float(probs[i, k])) for k in order[i]] for i in range(len(paths))]


def _read_image(path: Path, size: int, mean: float, std: float) -> np.ndarray:
    import matplotlib.image as mpimg

    from dlprimer.data.digits import resize_bilinear

    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        img = np.asarray(mpimg.imread(path), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes one clear message
        raise ValueError(f"cannot read image {path}: {exc}") from None
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2) if img.shape[2] >= 3 else img[..., 0]
    if img.ndim != 2:
        raise ValueError(f"image {path} must be 2-D grey or RGB(A), got shape {img.shape}")
    if img.max() > 1.0:
        img = img / 255.0
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if border.mean() > 0.5:
        img = 1.0 - img
    img = resize_bilinear(img[None], size)[0]
    return ((img - mean) / std).astype(np.float32)[None]  # [1, size, size]


class _Progress:
    """Rich progress bars (epoch and batch) with loss / accuracy / lr; silent when ``enabled`` is False."""

    def __init__(self, enabled: bool, epochs: int, steps: int, first_epoch: int) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn())
        self.epochs_task = self.progress.add_task("epochs", total=epochs, completed=first_epoch - 1, info="")
        self.batch_task = self.progress.add_task("batches", total=steps, info="")
        self.steps = steps

    def __enter__(self) -> _Progress:
        if self.enabled:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)

    def batch(self, i: int, loss: float) -> None:
        if self.enabled:
            self.progress.update(self.batch_task, completed=i + 1, info=f"loss {loss:.4f}")

    def epoch_done(self, row: dict[str, Any]) -> None:
        if self.enabled:
            self.progress.console.print(
                f"epoch {row['epoch']:>3}  train {row['train_loss']:.4f} / {row['train_accuracy']:.4f}  "
                f"val {row['val_loss']:.4f} / {row['val_accuracy']:.4f}  lr {row['lr']:.2e}  {row['time_s']:.1f}s"
            )
            self.progress.update(self.epochs_task, advance=1, info=f"val acc {row['val_accuracy']:.4f}")
            self.progress.reset(self.batch_task, total=self.steps)
