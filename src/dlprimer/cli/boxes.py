"""``dlprimer boxes assign-plot``: draw the YOLOv5 positive cells of one image."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from dlprimer._io import prepare_output
from dlprimer.cli._app import app

boxes_app = typer.Typer(help="Detection geometry: IoU, NMS, anchors, YOLOv5 assignment.", no_args_is_help=True)
app.add_typer(boxes_app, name="boxes")

#: YOLOv5 (P3, P4, P5) anchors in pixels and their strides
YOLOV5_ANCHORS = (((10, 13), (16, 30), (33, 23)), ((30, 61), (62, 45), (59, 119)), ((116, 90), (156, 198), (373, 326)))
YOLOV5_STRIDES = (8, 16, 32)
#: demo ground truths (class, cx, cy, w, h), normalized: a cell centre, a cell corner, the border,
#: a large box and a box too elongated for every anchor
DEMO_BOXES = (
    (0, 0.5 + 4 / 640, 0.5 + 4 / 640, 0.08, 0.1),
    (1, 0.26, 0.3, 0.3, 0.35),
    (2, 0.03, 0.9, 0.05, 0.12),
    (3, 0.75, 0.62, 0.4, 0.3),
    (4, 0.7, 0.15, 0.9, 0.01),
)


def _parse_box(text: str) -> tuple[float, ...]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 5:
        raise ValueError(f"--box must be 'class,cx,cy,w,h' (5 comma-separated numbers), got {text!r}")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--box must hold numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"--box must hold finite numbers (no inf or nan), got {text!r}")
    return values


@boxes_app.command("assign-plot")
def assign_plot(
    box: Annotated[
        list[str] | None,
        typer.Option(
            "--box", help="Ground truth 'class,cx,cy,w,h' normalized to [0, 1]; repeat it; default: a demo set."
        ),
    ] = None,
    image_size: Annotated[int, typer.Option("--image-size", help="Square network input size, in pixels.")] = 640,
    anchor_t: Annotated[float, typer.Option("--anchor-t", help="Anchor width/height ratio threshold.")] = 4.0,
    out: Annotated[Path, typer.Option("--out", help="Image file to write (.png, .pdf, .svg).")] = Path("assign.png"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
) -> None:
    """Draw the YOLOv5 positives (cells x anchors) of each output layer for the given boxes."""
    import torch

    from dlprimer.boxes import yolov5_build_targets

    rows = [_parse_box(b) for b in box] if box else [tuple(map(float, b)) for b in DEMO_BOXES]
    targets = torch.tensor([(0.0, *r) for r in rows], dtype=torch.float64)
    anchors = torch.tensor(YOLOV5_ANCHORS, dtype=torch.float64)
    layers = yolov5_build_targets(targets, anchors, list(YOLOV5_STRIDES), image_size, anchor_t=anchor_t)
    prepare_output(out, overwrite=overwrite)
    _draw(targets, layers, image_size, out)
    for layer, (stride, d) in enumerate(zip(YOLOV5_STRIDES, layers, strict=True)):
        per_gt = torch.bincount(d["target"], minlength=len(rows)).tolist()
        print(f"P{layer + 3} (stride {stride}): {d['target'].numel()} positives; per box {per_gt}")
    print(f"wrote {out}")


def _draw(targets, layers, image_size: int, out: Path) -> None:  # noqa: ANN001 (tensors)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from dlprimer._io import atomic_savefig

    colors = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(layers), figsize=(5 * len(layers), 5.4), squeeze=False)
    for ax, stride, d in zip(axes[0], YOLOV5_STRIDES, layers, strict=True):
        n_cells = image_size // stride
        ax.set_xlim(0, image_size)
        ax.set_ylim(image_size, 0)
        ax.set_aspect("equal")
        for i in range(0, n_cells + 1, max(1, n_cells // 20)):
            ax.axhline(i * stride, color="0.9", lw=0.5)
            ax.axvline(i * stride, color="0.9", lw=0.5)
        cells: dict[tuple[int, int, int], int] = {}
        for gx, gy, t in zip(d["gx"].tolist(), d["gy"].tolist(), d["target"].tolist(), strict=True):
            cells[(gx, gy, t)] = cells.get((gx, gy, t), 0) + 1
        for (gx, gy, t), count in cells.items():
            ax.add_patch(Rectangle((gx * stride, gy * stride), stride, stride, color=colors(t % 10), alpha=0.45))
            if stride >= 16:
                ax.text((gx + 0.5) * stride, (gy + 0.5) * stride, str(count), ha="center", va="center", fontsize=6)
        for t, row in enumerate(targets.tolist()):
            _, cls, cx, cy, w, h = row
            x1, y1 = (cx - w / 2) * image_size, (cy - h / 2) * image_size
            ax.add_patch(Rectangle((x1, y1), w * image_size, h * image_size, fill=False, lw=1.2, color=colors(t % 10)))
            ax.plot(cx * image_size, cy * image_size, "x", color=colors(t % 10), ms=4)
        ax.set_title(f"stride {stride}: {d['target'].numel()} positives (number = anchors per cell)", fontsize=8)
    fig.suptitle("YOLOv5 positives: own cell + 2 nearest neighbours, anchors with max(r, 1/r) < anchor_t")
    fig.tight_layout()
    atomic_savefig(fig, out, dpi=110)
    plt.close(fig)
