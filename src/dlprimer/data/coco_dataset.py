"""COCO-format detection data from any source: ``DIR/images/<split>/<file_name>`` +
``DIR/annotations/instances_<split>.json`` (the layout ``dlprimer data scenes export`` writes).

* Boxes: COCO ``[x, y, w, h]`` → ``xyxy`` pixels of the original image.
* ``iscrowd`` annotations are not training targets; they stay in the ground truth, where COCO evaluation treats
  them as ignore regions (a detection matched to a crowd box is neither a true nor a false positive).
* Category ids (any integers, e.g. ``3, 7, 42``) are mapped to contiguous labels ``0..K-1`` in increasing id
  order; :attr:`CocoDetectionDataset.category_ids` maps them back.
* Images of any size and mode; images without annotations are allowed. ``in_channels`` is 1 when every image
  of the split is grayscale (PIL mode ``L``, ``1``, ``I`` or ``I;16``), otherwise 3 (RGB; grayscale images are
  repeated to three channels, alpha is dropped by the one image decoder, :mod:`dlprimer.data.images`).

The annotation file is read and validated by the one COCO loader, :func:`dlprimer.data.coco_json.load_coco_json`
(the same that ``dlprimer.metrics.coco`` evaluates with): every problem is one error naming the file, the record
and the field; ``file_name`` must be a string and every listed image must exist on disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import CocoDataset, load_coco_json

__all__ = ["GRAY_MODES", "CocoDetectionDataset", "annotation_path", "read_image"]

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def annotation_path(root: str | os.PathLike[str], split: str) -> Path:
    """``root/annotations/instances_<split>.json``."""
    return Path(root) / "annotations" / f"instances_{split}.json"


def read_image(path: str | os.PathLike[str], channels: int) -> NDArray[np.uint8]:
    """The image at ``path`` as ``uint8 [channels, H, W]``, decoded by the one decoder
    (:func:`dlprimer.data.images.read_image`); a grey image is repeated to 3 channels when ``channels == 3``."""
    from dlprimer.data.images import read_image as decode

    arr = decode(path)  # [H, W, 1 or 3]
    if arr.shape[2] != channels:
        if channels != 3:
            raise ValueError(f"image {str(path)!r} is RGB but the data was read as grey (1 channel)")
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


class CocoDetectionDataset:
    """One split of a COCO-format folder. Item ``i`` (images in increasing id order):
    ``{"image": Tensor[C, H, W] uint8 (original size), "boxes": Tensor[N, 4] float32 xyxy, "labels": Tensor[N]
    int64 contiguous, "image_id": Tensor[] int64}`` (crowd annotations left out)."""

    def __init__(self, root: str | os.PathLike[str], split: str, coco: CocoDataset | None = None,
                 in_channels: int | None = None) -> None:
        self.root, self.split = Path(root), split
        path = annotation_path(root, split)
        if coco is None:
            coco = load_coco_json(path, what="annotation")
        self.source = coco.source
        coco = coco.data
        for k, im in enumerate(coco.get("images", [])):
            if not isinstance(im.get("file_name"), str):
                raise ValueError(f"{self.source}: images[{k}].file_name must be a string, got {im.get('file_name')!r}")
        self.coco = coco
        self.category_ids = tuple(sorted(int(c["id"]) for c in coco["categories"]))
        names = {int(c["id"]): str(c.get("name", c["id"])) for c in coco["categories"]}
        self.category_names = tuple(names[c] for c in self.category_ids)
        self.num_classes = len(self.category_ids)
        label_of = {c: k for k, c in enumerate(self.category_ids)}
        self.images = sorted(coco["images"], key=lambda im: im["id"])
        folder = self.root / "images" / split
        self.paths = [folder / im["file_name"] for im in self.images]
        for p in self.paths:
            if not p.is_file():
                raise FileNotFoundError(f"image {str(p)!r} is listed in {path} but missing on disk")
        self.sizes = [(int(im.get("height", 0)), int(im.get("width", 0))) for im in self.images]
        by_image: dict[Any, list[dict]] = {im["id"]: [] for im in self.images}
        for a in coco.get("annotations", []):
            if not a.get("iscrowd", 0):
                by_image[a["image_id"]].append(a)
        self.targets = []
        for im in self.images:
            anns = [a for a in by_image[im["id"]] if a["bbox"][2] > 0 and a["bbox"][3] > 0]
            xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
            xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
            self.targets.append((xyxy, np.array([label_of[int(a["category_id"])] for a in anns], dtype=np.int64)))
        self.in_channels = in_channels if in_channels is not None else self._channels()

    def _channels(self) -> int:
        from PIL import Image

        for p in self.paths:
            with Image.open(p) as im:
                if im.mode not in GRAY_MODES:
                    return 3
        return 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        image = read_image(self.paths[index], self.in_channels)
        boxes, labels = self.targets[index]
        return {"image": torch.from_numpy(image), "boxes": torch.from_numpy(boxes.copy()),
                "labels": torch.from_numpy(labels.copy()), "image_id": torch.tensor(int(self.images[index]["id"]))}
