"""``dlprimer coco-eval GT.json DT.json``: COCO bbox/segm/keypoints evaluation (equal to pycocotools, faster)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from dlprimer.cli._app import app


def parse_max_dets(text: str) -> tuple[int, ...]:
    """``"1,10,100"`` → ``(1, 10, 100)``; a one-line ``ValueError`` naming ``--max-dets`` otherwise."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(
            f"--max-dets must be comma-separated positive integers such as 1,10,100, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise ValueError(f"--max-dets must be comma-separated positive integers such as 1,10,100, got {text!r}")
    return values


def parse_iou_thresholds(text: str) -> np.ndarray:
    """``"0.5,0.75"`` (a list) or ``"0.5:0.95:0.05"`` (start:stop:step, both ends included, built with
    ``np.linspace`` as pycocotools builds its default) → float64 array."""
    bad = f"--iou-thrs must be numbers in [0, 1] as 0.5,0.75 or start:stop:step as 0.5:0.95:0.05, got {text!r}"
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if not (step > 0 and stop >= start):
                raise ValueError(bad)
            n = int(np.round((stop - start) / step)) + 1
            if n > 10_000:
                raise ValueError(bad)
            values = np.linspace(start, stop, n, endpoint=True)
        else:
            values = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise ValueError(bad) from None
    if values.size == 0 or not np.all(np.isfinite(values) & (values >= 0) & (values <= 1)):
        raise ValueError(bad)
    return values


@app.command("coco-eval")
def coco_eval(
    gt: Path = typer.Argument(..., metavar="GT.json", help="COCO ground-truth JSON (images, annotations, categories)."),
    dt: Path = typer.Argument(
        ...,
        metavar="DT.json",
        help="COCO results JSON: a list of {image_id, category_id, bbox|segmentation|keypoints, score}.",
    ),
    iou_type: str = typer.Option("bbox", "--iou-type", help="bbox (boxes), segm (masks) or keypoints (OKS)."),
    max_dets: str | None = typer.Option(
        None, "--max-dets", help="Detection caps per image, e.g. 1,10,100 (default; keypoints: 20)."
    ),
    iou_thrs: str | None = typer.Option(
        None, "--iou-thrs", help="IoU thresholds: 0.5,0.75 or start:stop:step (default 0.5:0.95:0.05)."
    ),
    no_cats: bool = typer.Option(False, "--no-cats", help="Ignore categories (pycocotools' useCats=0)."),
    per_class: bool = typer.Option(False, "--per-class", help="Also print AP, AP50, AP75, AR per category."),
    plot: Path | None = typer.Option(None, "--plot", help="Write PR and F1-vs-confidence curves (PNG)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write stats and tables as JSON."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing --plot/--json files."),
) -> None:
    """Evaluate detections the COCO way: the standard numbers, printed as pycocotools prints them."""
    from dlprimer._io import atomic_write_json, prepare_output
    from dlprimer.data.coco_json import merge_categories, read_json
    from dlprimer.metrics.coco import evaluate

    # every option is checked before any work or any file is touched
    caps = parse_max_dets(max_dets) if max_dets is not None else None
    thresholds = parse_iou_thresholds(iou_thrs) if iou_thrs is not None else None
    plot = prepare_output(plot, overwrite=overwrite, option="--plot") if plot is not None else None
    json_out = prepare_output(json_out, overwrite=overwrite, option="--json") if json_out is not None else None
    gt_data, dt_data = gt, dt
    if no_cats:
        gt_data, dt_data = merge_categories(read_json(gt, "ground-truth"), read_json(dt, "detections"))
    result = evaluate(gt_data, dt_data, iou_type=iou_type, iou_thresholds=thresholds, max_dets=caps)
    print(result.summary())
    if per_class:
        print()
        print(f"{'category':<24} {'id':>6} {'AP':>7} {'AP50':>7} {'AP75':>7} {'AR' + str(result.max_dets[-1]):>7}")
        for row in result.per_class:
            vals = " ".join(f"{row[k]:7.3f}" if row[k] > -1 else f"{'-':>7}" for k in ("AP", "AP50", "AP75", "AR"))
            print(f"{str(row['name'])[:24]:<24} {str(row['category_id']):>6} {vals}")
    if json_out is not None:
        atomic_write_json(json_out, result.to_dict())
        print(f"wrote {json_out}")
    if plot is not None:
        from dlprimer.metrics.plots import plot_coco_curves

        plot_coco_curves(result, plot)
        print(f"wrote {plot}")
