"""``dlprimer detect train|evaluate|predict|compare``: object detection end to end (notes: 目标检测基础知识)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dlprimer.cli._app import app
from dlprimer.train.detection.config import DetectConfig

detect_app = typer.Typer(help="Train, evaluate, run and compare object detectors.", no_args_is_help=True)
app.add_typer(detect_app, name="detect")

_D = DetectConfig()
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


@detect_app.command("train")
def train(
    model: Annotated[str, typer.Option(help="yolo, fcos, centernet or fasterrcnn")] = _D.model,
    data: Annotated[Path | None, typer.Option(help="COCO-format folder (default: the embedded digit scenes)")] = None,
    image_size: Annotated[int, typer.Option(help="network input side (letterboxed), divisible by 32")] = _D.image_size,
    epochs: Annotated[int, typer.Option(help="number of epochs")] = _D.epochs,
    batch_size: Annotated[int, typer.Option(help="images per batch")] = _D.batch_size,
    lr: Annotated[float, typer.Option(help="peak learning rate")] = _D.lr,
    optimizer: Annotated[str, typer.Option(help="sgd, adam or adamw")] = _D.optimizer,
    schedule: Annotated[str, typer.Option(help="learning-rate schedule, stepped per batch")] = _D.schedule,
    warmup: Annotated[int, typer.Option(help="warmup epochs")] = _D.warmup,
    augment: Annotated[str, typer.Option(help="augmentation pipeline, comma-separated, or none")] = _D.augment,
    mosaic_p: Annotated[float, typer.Option(help="probability of each multi-sample op")] = _D.mosaic_p,
    eval_every: Annotated[int, typer.Option(help="validation mAP every N epochs")] = _D.eval_every,
    width: Annotated[int, typer.Option(help="backbone base channels")] = _D.width,
    backbone: Annotated[str, typer.Option(help="csp or resnet18")] = _D.backbone,
    n_train: Annotated[int, typer.Option(help="embedded scenes: training images")] = _D.n_train,
    n_val: Annotated[int, typer.Option(help="embedded scenes: validation images")] = _D.n_val,
    n_test: Annotated[int, typer.Option(help="embedded scenes: test images")] = _D.n_test,
    seed: Annotated[int, typer.Option(help="seed of initialization, batches and augmentation")] = _D.seed,
    amp: Annotated[bool, typer.Option(help="mixed precision")] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = _D.device,
    out: Annotated[str, typer.Option(help="folder that holds run folders")] = _D.out,
    name: Annotated[str | None, typer.Option(help="run folder name (default <model>-<time>)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing run folder of the same name")] = False,
    resume: Annotated[Path | None, typer.Option(help="continue the run in this run folder")] = None,
) -> None:
    """Train a detector; ends with the 12 COCO numbers and a per-class AP table."""
    from dlprimer.train.detection import DetectConfig, fit_detection, resume_detection

    def show(row: dict) -> None:
        print("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)

    if resume is not None:
        result = resume_detection(resume, on_epoch=show)
    else:
        config = DetectConfig(
            model=model, data=None if data is None else str(data), image_size=image_size, epochs=epochs,
            batch_size=batch_size, lr=lr, optimizer=optimizer, schedule=schedule, warmup=warmup, augment=augment,
            mosaic_p=mosaic_p, eval_every=eval_every, width=width, backbone=backbone, n_train=n_train, n_val=n_val,
            n_test=n_test, seed=seed, amp=amp, device=device, out=out, name=name,
        )
        result = fit_detection(config, overwrite=overwrite, on_epoch=show)
    _print_stats(result.summary, result.run_dir)


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
