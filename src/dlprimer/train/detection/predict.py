"""``predict_files``: run a trained detector on image files and draw its boxes, classes and scores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from dlprimer._io import atomic_savefig, prepare_output
from dlprimer.data.coco_dataset import read_image
from dlprimer.train.detection.data import Letterbox, to_coco_results, to_float
from dlprimer.train.detection.run import load_detection_run

__all__ = ["predict_files"]


def predict_files(run_dir: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]],
                  out: str | os.PathLike[str], score_threshold: float = 0.3, overwrite: bool = False) -> list[Path]:
    """Write ``OUT/<stem>.png`` per image: the image with its detections (score ``>= score_threshold``) drawn in
    the original image's pixels. Returns the written paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if not paths:
        raise ValueError("give at least one image file")
    files = [Path(p) for p in paths]
    for p in files:
        if not p.is_file():
            raise FileNotFoundError(f"image {str(p)!r} not found")
    folder = prepare_output(out, overwrite=overwrite, kind="dir")
    config, model, data = load_detection_run(run_dir)
    items = [{"image": torch.from_numpy(read_image(p, data.in_channels).copy()), "boxes": torch.zeros((0, 4)),
              "labels": torch.zeros(0, dtype=torch.int64), "image_id": torch.tensor(k)} for k, p in enumerate(files)]
    boxed = Letterbox(items, config.image_size)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for k, p in enumerate(files):
        item = boxed[k]
        pred = model.predict(to_float(item["image"][None]), score_threshold=score_threshold, nms=config.nms,
                             iou_threshold=config.iou_threshold, max_dets=config.max_dets)[0]
        records = to_coco_results(pred, item, data)
        image = items[k]["image"]
        fig, ax = plt.subplots(figsize=(5, 5 * image.shape[1] / image.shape[2]))
        arr = image.permute(1, 2, 0).numpy()
        ax.imshow(arr[:, :, 0] if arr.shape[2] == 1 else arr, cmap="gray" if arr.shape[2] == 1 else None)
        names = dict(zip(data.category_ids, data.category_names, strict=True))
        for r in records:
            x, y, w, h = r["bbox"]
            ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="lime", linewidth=1.2))
            ax.text(x, y - 1, f"{names[r['category_id']]} {r['score']:.2f}", color="yellow", fontsize=7)
        ax.set_axis_off()
        ax.set_title(f"{p.name}: {len(records)} detections", fontsize=8)
        target = folder / f"{p.stem}.png"
        atomic_savefig(fig, target, dpi=110)
        plt.close(fig)
        written.append(target)
    return written
