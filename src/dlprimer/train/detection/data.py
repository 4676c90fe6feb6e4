"""The data side of a detection run: the splits, the letterbox, the augmentation pipeline, the ground truth.

1. **Source.** ``config.data is None``: the embedded digit scenes (:mod:`dlprimer.data.scenes`; the same scenes,
   ids and categories as ``dlprimer data scenes export`` with the same seed and counts). Otherwise a COCO-format
   folder (:class:`dlprimer.data.coco_dataset.CocoDetectionDataset`); each annotation file is read and validated
   by the one COCO loader, :func:`dlprimer.data.coco_json.load_coco_json` (the evaluator's). Splits ``train``
   and ``val`` are required, ``test`` is optional.
2. **Letterbox** (:class:`Letterbox`): every image is scaled by ``r = S / max(h, w)`` (aspect kept) and padded at
   the bottom and right to ``S × S``; boxes are scaled by ``r``. :func:`to_coco_results` inverts it
   (``/ r``, clipped to the original image) so every output is in the original image's pixels.
3. **Augmentation** (training only, :func:`build_train_set`): the multi-sample ops of the pipeline (mosaic,
   mixup, copy-paste) through :class:`dlprimer.augment.MixingDataset`, each with probability ``mosaic_p``, then
   the single-sample ops composed in order; no flips by default (digits are not mirror-symmetric).
4. **Batches**: :func:`dlprimer.augment.collate.detection_collate`; images become float in ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlprimer.augment import functional as AF
from dlprimer.augment.compose import Compose
from dlprimer.augment.dataset import MixingDataset
from dlprimer.augment.registry import MULTI_SAMPLE, list_augmentations
from dlprimer.augment.registry import create as create_augmentation
from dlprimer.train.detection.config import DetectConfig

__all__ = ["DetectionData", "Letterbox", "build_train_set", "load_detection_data", "to_coco_results"]


class Letterbox:
    """Dataset wrapper: item ``i`` of ``base`` letterboxed to ``S × S`` (see the module docstring), with
    ``"scale"`` (``r``) and ``"orig_size"`` (``[h, w]``) added."""

    def __init__(self, base: Any, size: int) -> None:
        self.base, self.size = base, int(size)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = dict(self.base[index])
        image = item["image"]
        h, w = image.shape[-2:]
        r = self.size / max(h, w)
        if (h, w) != (self.size, self.size):
            nh, nw = min(self.size, max(1, round(h * r))), min(self.size, max(1, round(w * r)))
            image = AF.resize(image, [nh, nw])
            canvas = torch.zeros((image.shape[0], self.size, self.size), dtype=image.dtype)
            canvas[:, :nh, :nw] = image
            image = canvas
            item["boxes"] = item["boxes"] * torch.tensor([nw / w, nh / h, nw / w, nh / h])
            r_xy = (nw / w, nh / h)
        else:
            r_xy = (1.0, 1.0)
        item["image"] = image
        item["scale"] = torch.tensor(r_xy, dtype=torch.float64)
        item["orig_size"] = torch.tensor([h, w])
        return item


@dataclass
class DetectionData:
    """The three splits (letterboxed), their COCO ground truth (original ids and pixels) and the label map."""

    splits: dict[str, Letterbox]
    coco: dict[str, dict[str, Any]]
    num_classes: int
    in_channels: int
    category_ids: tuple[int, ...]
    category_names: tuple[str, ...]
    source: str


def load_detection_data(config: DetectConfig) -> DetectionData:
    """Build :class:`DetectionData` from ``config`` (see the module docstring, step 1)."""
    if config.data is None:
        from dlprimer.data.scenes import SceneConfig, SceneDataset

        scene_cfg = SceneConfig(seed=config.scene_seed, n_train=config.n_train, n_val=config.n_val,
                                n_test=config.n_test)
        bases = {s: SceneDataset(s, scene_cfg) for s in ("train", "val", "test")}
        coco = {s: d.coco() for s, d in bases.items()}
        first = bases["train"]
        return DetectionData({s: Letterbox(d, config.image_size) for s, d in bases.items()}, coco, first.num_classes,
                             first.in_channels, first.category_ids, first.category_names, "scenes")
    from dlprimer.data.coco_dataset import CocoDetectionDataset, annotation_path
    from dlprimer.data.coco_json import load_coco_json

    root = Path(config.data)
    if not root.is_dir():
        raise FileNotFoundError(f"--data {str(root)!r} is not a folder")
    files = {}
    for split in ("train", "val", "test"):
        path = annotation_path(root, split)
        if not path.is_file():
            if split == "test":
                continue
            raise FileNotFoundError(f"annotation file {str(path)!r} not found (--data needs train and val)")
        files[split] = load_coco_json(path, what="annotation")  # the one validation (names file and field)
    coco = {split: f.data for split, f in files.items()}
    train = CocoDetectionDataset(root, "train", files["train"])
    bases = {"train": train}
    for split in coco:
        if split != "train":
            other = CocoDetectionDataset(root, split, files[split], in_channels=train.in_channels)
            if other.category_ids != train.category_ids:
                raise ValueError(f"{annotation_path(root, split)}: categories differ from the training split's")
            bases[split] = other
    return DetectionData({s: Letterbox(d, config.image_size) for s, d in bases.items()}, coco, train.num_classes,
                         train.in_channels, train.category_ids, train.category_names, str(root))


# Detection defaults of each augmentation (the registry's defaults suit classification previews)
_DETECTION_KWARGS: dict[str, Any] = {
    "mosaic": lambda size: {"output_size": (size, size), "scale": (0.6, 1.0), "fill": 0.0, "min_visibility": 0.6},
    "affine": lambda size: {"degrees": 5.0, "shear": 0.0, "translate": (0.1, 0.1), "scale": (0.75, 1.25),
                            "min_visibility": 0.6},
    "scale": lambda size: {},
    "color": lambda size: {"brightness": 0.3, "contrast": 0.3, "saturation": None, "hue": None},
    "copy_paste": lambda size: {},
}


def parse_pipeline(spec: str) -> list[str]:
    """Names of a comma-separated augmentation pipeline (``"none"`` or ``""``: no augmentation)."""
    names = [n.strip().lower() for n in spec.split(",") if n.strip()]
    if names in ([], ["none"]):
        return []
    known = list_augmentations()
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"--augment: unknown augmentation(s) {bad}; known: {', '.join(known)}")
    return names


def build_train_set(data: DetectionData, config: DetectConfig, mixing: bool = True) -> MixingDataset:
    """The augmented training set (see the module docstring, step 3); ``mixing=False`` drops the multi-sample ops."""
    names = parse_pipeline(config.augment)
    kwargs = {n: _DETECTION_KWARGS.get(n, lambda size: {})(config.image_size) for n in names}
    if data.in_channels == 1 and "color" in kwargs:
        kwargs["color"] = {"brightness": 0.3, "contrast": 0.3, "saturation": None, "hue": None}
    multis = [create_augmentation(n, **kwargs[n]) for n in names if n in MULTI_SAMPLE] if mixing else []
    singles = [create_augmentation(n, **kwargs[n]) for n in names if n not in MULTI_SAMPLE]
    return MixingDataset(_TrainView(data.splits["train"]), mixes=multis,
                         transform=Compose(singles) if singles else None, p_mix=config.mosaic_p, seed=config.seed)


class _TrainView:
    """Training samples: image, boxes, labels only (per-image keys would not survive mosaic)."""

    def __init__(self, base: Letterbox) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = self.base[index]
        return {"image": item["image"], "boxes": item["boxes"].float(), "labels": item["labels"]}


def to_float(images: Tensor) -> Tensor:
    """uint8 ``[B, C, H, W]`` → float in ``[0, 1]`` (float input is returned unchanged)."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def to_coco_results(pred: dict[str, Tensor], item: dict[str, Tensor], data: DetectionData) -> list[dict[str, Any]]:
    """COCO result records of one image: boxes mapped back to the original pixels (letterbox inverted, clipped),
    ``[x, y, w, h]``, the image's own id and the original category ids."""
    sx, sy = (float(v) for v in item["scale"])
    h, w = (int(v) for v in item["orig_size"])
    b = pred["boxes"].detach().double().cpu().numpy().reshape(-1, 4) / np.array([sx, sy, sx, sy])
    b[:, 0::2] = b[:, 0::2].clip(0, w)
    b[:, 1::2] = b[:, 1::2].clip(0, h)
    scores = pred["scores"].detach().double().cpu().numpy()
    labels = pred["labels"].cpu().numpy()
    image_id = int(item["image_id"])
    out = []
    for (x1, y1, x2, y2), s, lab in zip(b.tolist(), scores.tolist(), labels.tolist(), strict=True):
        if x2 > x1 and y2 > y1:
            out.append({"image_id": image_id, "category_id": data.category_ids[int(lab)],
                        "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
                        "score": round(float(s), 5)})
    return out
