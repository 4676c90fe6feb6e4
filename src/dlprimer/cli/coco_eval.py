"""``dlprimer coco-eval GT.json DT.json``: COCO bbox/segm evaluation (equal to pycocotools, faster)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from dlprimer.cli._app import app


def _check_new(path: Path | None, overwrite: bool, flag: str) -> None:
    if path is None:
        return
    if path.exists() and not overwrite:
        raise ValueError(f"{flag} {str(path)!r} already exists; pass --overwrite to replace it")
    if not path.parent.exists():
        raise ValueError(f"{flag} {str(path)!r}: folder {str(path.parent)!r} does not exist")


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@app.command("coco-eval")
def coco_eval(
    gt: Path = typer.Argument(..., metavar="GT.json", help="COCO ground-truth JSON (images, annotations, categories)."),
    dt: Path = typer.Argument(
        ..., metavar="DT.json", help="COCO results JSON: a list of {image_id, category_id, bbox, score}."
    ),
    per_class: bool = typer.Option(False, "--per-class", help="Also print AP, AP50, AP75, AR per category."),
    plot: Path | None = typer.Option(None, "--plot", help="Write PR and F1-vs-confidence curves (PNG)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write stats and tables as JSON."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing --plot/--json files."),
    iou_type: str = typer.Option("bbox", "--iou-type", help="bbox (boxes) or segm (masks)."),
) -> None:
    """Evaluate detections the COCO way (bbox or segm): the 12 standard numbers, as pycocotools prints them."""
    from dlprimer.metrics.coco import evaluate

    _check_new(plot, overwrite, "--plot")
    _check_new(json_out, overwrite, "--json")
    result = evaluate(gt, dt, iou_type=iou_type)
    print(result.summary())
    if per_class:
        print()
        print(f"{'category':<24} {'id':>6} {'AP':>7} {'AP50':>7} {'AP75':>7} {'AR100':>7}")
        for row in result.per_class:
            vals = " ".join(f"{row[k]:7.3f}" if row[k] > -1 else f"{'-':>7}" for k in ("AP", "AP50", "AP75", "AR"))
            print(f"{str(row['name'])[:24]:<24} {str(row['category_id']):>6} {vals}")
    if json_out is not None:
        _write_json_atomic(json_out, result.to_dict())
        print(f"wrote {json_out}")
    if plot is not None:
        from dlprimer.metrics.plots import plot_coco_curves

        plot_coco_curves(result, plot)
        print(f"wrote {plot}")
