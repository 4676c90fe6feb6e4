"""``dlprimer train`` / ``evaluate`` / ``predict``: the classifier training job on the embedded digits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dlprimer.cli._app import app
from dlprimer.train.config import TrainConfig

_DEFAULTS = TrainConfig()


def _print_summary(summary: dict, run_dir: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"test accuracy {summary['test_accuracy']:.4f}  (macro F1 {summary['macro_f1']:.4f} = 2·P̄·R̄/(P̄+R̄))"
    table = Table(title=title)
    for col in ("class", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="right")
    for k, row in summary["per_class"].items():
        table.add_row(k, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row["support"]))
    console.print(table)
    if run_dir is not None:
        console.print(f"run folder: {run_dir}")


@app.command()
def train(
    model: Annotated[str, typer.Option(help="model name (see dlprimer.models.list_models())")] = _DEFAULTS.model,
    engine: Annotated[str, typer.Option(help="torch, or scratch (the NumPy engine; lenet5 only)")] = _DEFAULTS.engine,
    epochs: Annotated[int, typer.Option(help="number of epochs")] = _DEFAULTS.epochs,
    batch_size: Annotated[int, typer.Option(help="images per batch")] = _DEFAULTS.batch_size,
    optimizer: Annotated[str, typer.Option(help="sgd, adam or adamw")] = _DEFAULTS.optimizer,
    lr: Annotated[float, typer.Option(help="peak learning rate")] = _DEFAULTS.lr,
    momentum: Annotated[float, typer.Option(help="SGD momentum")] = _DEFAULTS.momentum,
    nesterov: Annotated[bool, typer.Option(help="Nesterov momentum (SGD)")] = _DEFAULTS.nesterov,
    schedule: Annotated[str, typer.Option(help="learning-rate schedule, stepped per batch")] = _DEFAULTS.schedule,
    warmup: Annotated[int, typer.Option(help="linear warmup, in epochs")] = _DEFAULTS.warmup,
    weight_decay: Annotated[float, typer.Option(help="L2 weight decay")] = _DEFAULTS.weight_decay,
    label_smoothing: Annotated[float, typer.Option(help="label smoothing ε in [0, 1]")] = _DEFAULTS.label_smoothing,
    clip_grad: Annotated[float | None, typer.Option(help="clip the global gradient norm to this")] = None,
    amp: Annotated[bool, typer.Option(help="mixed precision (bf16 on CPU, fp16 + GradScaler on CUDA)")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = _DEFAULTS.device,
    seed: Annotated[int, typer.Option(help="seed of the split, the initialization and the batches")] = 0,
    init: Annotated[str, typer.Option(help="weight initialization scheme")] = _DEFAULTS.init,
    shift: Annotated[int, typer.Option(help="random shift augmentation, ± pixels")] = _DEFAULTS.shift,
    out: Annotated[str, typer.Option(help="folder that holds run folders")] = _DEFAULTS.out,
    name: Annotated[str | None, typer.Option(help="run folder name (default <model>-<YYYYmmdd-HHMMSS>)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing run folder of the same name")] = False,
    resume: Annotated[Path | None, typer.Option(help="continue the run in this run folder")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
) -> None:
    """Train a classifier on the embedded digits and write a run folder (config, metrics, checkpoint, plots)."""
    from dlprimer.train import engine as train_engine

    if resume is not None:
        result = train_engine.resume(resume, progress=not quiet)
    else:
        config = TrainConfig(
            model=model, engine=engine, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
            momentum=momentum, nesterov=nesterov, schedule=schedule, warmup=warmup, weight_decay=weight_decay,
            label_smoothing=label_smoothing, clip_grad=clip_grad, amp=amp, device=device, seed=seed, init=init,
            shift=shift, out=out, name=name,
        )
        result = train_engine.fit(config, overwrite=overwrite, progress=not quiet)
    _print_summary(result.summary, result.run_dir)


@app.command()
def evaluate(run_dir: Annotated[Path, typer.Argument(help="a run folder written by dlprimer train")]) -> None:
    """Recompute the test metrics of a run from its checkpoint."""
    from dlprimer.train.engine import evaluate_run

    _print_summary(evaluate_run(run_dir))


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a run folder written by dlprimer train")],
    images: Annotated[list[Path], typer.Argument(help="image files (PNG; JPEG with Pillow)")],
    top_k: Annotated[int, typer.Option("--top-k", help="how many classes to print")] = 3,
) -> None:
    """Print the top-k classes of image files with the run's model."""
    from dlprimer.train.engine import predict_images

    for path, ranked in zip(images, predict_images(run_dir, images, top_k=top_k), strict=True):
        print(f"{path}: " + ", ".join(f"{k} ({p:.3f})" for k, p in ranked))
