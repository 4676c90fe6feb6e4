"""``dlprimer detect train|evaluate|predict|compare``: object detection end to end (notes: 目标检测基础知识)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from dlprimer.cli._app import app
from dlprimer.cli.train import with_signature
from dlprimer.train.detection.config import DetectConfig

detect_app = typer.Typer(help="Train, evaluate, run and compare object detectors.", no_args_is_help=True)
app.add_typer(detect_app, name="detect")

NMS_CHOICES = ("hard", "soft-linear", "soft-gaussian", "voting", "diou")


def _print_stats(stats: dict, run_dir: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(stats["summary"])
    per_class = stats.get("per_class") or []
    if per_class:
        table = Table(title=f"per-class AP ({stats['split']} split)")
        keys = [k for k in per_class[0] if k not in ("category_id",)]
        for k in keys:
            table.add_column(str(k), justify="right")
        for row in per_class:
            table.add_row(*(f"{row[k]:.4f}" if isinstance(row[k], float) else str(row[k]) for k in keys))
        console.print(table)
    if run_dir is not None:
        console.print(f"run folder: {run_dir}")


@detect_app.command("list")
def list_command() -> None:
    """Print the registered detector names, one per line (use them with `dlprimer detect train --model`)."""
    from dlprimer.cli._names import detector_names

    for name in detector_names():
        print(name)


def _detect_train(**kwargs: Any) -> None:
    """Train a detector (the embedded digit scenes, or --data DIR in COCO layout) on the one training engine and
    write a run folder OUT/NAME; ends with the 12 COCO numbers and a per-class AP table. --resume RUN_DIR finishes
    a run; with --epochs it extends it."""
    from dlprimer.cli.train import ProgressBars, fit_or_resume, handed_over
    from dlprimer.train import distributed
    from dlprimer.train import engine as train_engine

    if handed_over(kwargs, ("detect", "train")):
        return
    overwrite = kwargs.pop("overwrite")
    resume = kwargs.pop("resume")
    quiet = kwargs.pop("quiet")
    given = {k: v for k, v in kwargs.items() if v is not None}
    with distributed.session(given.get("device", "auto")):
        main = distributed.is_main()
        callbacks = [] if quiet or not main else [ProgressBars()]
        result = fit_or_resume(train_engine, given, overwrite, resume, callbacks, config_class=DetectConfig)
    if main:
        _print_stats(result.summary, result.run_dir)


def _detect_train_signature() -> list[inspect.Parameter]:
    from dlprimer.cli.train import config_parameters, run_parameters

    return [*config_parameters(DetectConfig), *run_parameters()]


detect_app.command("train")(with_signature(_detect_train, _detect_train_signature()))


@detect_app.command("evaluate")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder written by dlprimer detect train")],
    split: Annotated[str, typer.Option(help="test, val or train")] = "test",
    nms: Annotated[str, typer.Option(help="hard, soft-linear, soft-gaussian, voting or diou")] = "hard",
    score_threshold: Annotated[float, typer.Option(help="drop detections below this score")] = 0.001,
    max_dets: Annotated[int, typer.Option(help="detections kept per image")] = 100,
) -> None:
    """Write RUN_DIR/eval/<split>/ detections.json (COCO results), stats.json, curves.png, confusion.png."""
    from dlprimer._checks import check_choice, check_float, check_int

    check_choice(split, "--split", ("train", "val", "test"))
    check_choice(nms, "--nms", NMS_CHOICES)
    check_float(score_threshold, "--score-threshold", low=0.0, high=1.0)
    check_int(max_dets, "--max-dets", low=1)
    from dlprimer.train.detection import load_detection_run, write_eval

    config, model, data = load_detection_run(run_dir)
    stats = write_eval(Path(run_dir), model, data, config, split, nms=nms, score_threshold=score_threshold,
                       max_dets=max_dets, plots=True)
    _print_stats(stats)
    print(f"wrote {Path(run_dir) / 'eval' / split}")


@detect_app.command("predict")
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a run folder written by dlprimer detect train")],
    images: Annotated[list[Path], typer.Argument(help="image files (PNG, JPEG)")],
    out: Annotated[Path, typer.Option(help="folder for the drawn images")] = Path("predictions"),
    score_threshold: Annotated[float, typer.Option(help="draw detections at or above this score")] = 0.3,
    overwrite: Annotated[bool, typer.Option(help="write into an existing non-empty folder")] = False,
) -> None:
    """Draw the detected boxes, classes and scores on each image (OUT/<name>.png)."""
    from dlprimer.train.detection.predict import predict_files

    for path in predict_files(run_dir, images, out, score_threshold=score_threshold, overwrite=overwrite):
        print(f"wrote {path}")


@detect_app.command("compare")
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="run folders to compare (same data)")],
    out: Annotated[Path, typer.Option(help="folder for compare.md and compare.json")] = Path("compare"),
    split: Annotated[str, typer.Option(help="split to measure on")] = "test",
    overwrite: Annotated[bool, typer.Option(help="write into an existing non-empty folder")] = False,
) -> None:
    """The notes' anchor-free vs anchor-based table, measured: parameters, MACs, candidates, decode time, AP."""
    from dlprimer.train.detection.compare import compare_runs

    md = compare_runs(run_dirs, out, split=split, overwrite=overwrite)
    print(md)
