"""Embedded detection data: scikit-learn's handwritten digits composed on canvases (notes: 目标检测基础知识).

Every scene is generated on the fly and is a pure function of ``(seed, split, index)``:

1. **Source split.** The 1,797 8×8 source digits are split 70 / 10 / 20 % stratified by class with
   :func:`dlprimer.data.digits.split_indices` (the same split as the classification digits); a scene of split
   ``s`` only pastes source digits of split ``s``, so no test scene contains a digit image used in training.
2. **Canvas.** ``image_size × image_size`` grayscale, a dark background level with light Gaussian noise and a
   few faint clutter strokes and blobs (distractors that are not objects).
3. **Digits.** ``U{min_digits..max_digits}`` digits; each is scaled so that its height is ``U[12, 48]`` px and
   its width the height times ``1 + U[-0.15, 0.15]`` (aspect jitter), pasted with a random ink intensity.
   Its **box is the tight box around the ink after scaling** (pixels whose scaled value exceeds
   :data:`INK_THRESHOLD`), not the pasted square: the 8×8 glyphs have empty margins. A placement is accepted
   only if the box's IoU with every box already in the scene is at most ``max_iou`` (0.3); a digit that finds
   no such place in 50 tries is left out (the first always fits).
4. **Labels** are the digits 0–9; COCO category ids are ``label + 1`` named ``"0"``…``"9"``.

Boxes are ``xyxy`` in pixels, the image spanning ``[0, W] × [0, H]`` (a pixel ``(r, c)`` covers
``[c, c + 1] × [r, r + 1]``), so the COCO ``bbox`` is ``[x1, y1, x2 - x1, y2 - y1]``.

:func:`export_scenes` writes the COCO layout ``DIR/images/{train,val,test}/*.png`` with
``DIR/annotations/instances_{train,val,test}.json`` (``file_name`` relative to its split's image folder, image
ids ``index + 1``); :class:`SceneDataset` yields the same scenes (same ids, boxes, categories) as sample dicts,
rendering each at most once (cache), so mosaic does not multiply the generation cost.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer._checks import check_float, check_int
from dlprimer._io import atomic_write, atomic_write_json, prepare_output
from dlprimer.data.digits import resize_bilinear, split_indices

__all__ = [
    "CATEGORIES",
    "DigitScenes",
    "INK_THRESHOLD",
    "SPLITS",
    "Scene",
    "SceneConfig",
    "SceneDataset",
    "coco_dict",
    "export_scenes",
    "render_scene",
    "rgb_sample",
    "source_indices",
]

SPLITS = ("train", "val", "test")
INK_THRESHOLD = 0.25  # a scaled glyph pixel above this (of the glyph's own [0, 1] range) is ink
CATEGORIES = [{"id": d + 1, "name": str(d), "supercategory": "digit"} for d in range(10)]
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
_PLACEMENT_TRIES = 50


@dataclass(frozen=True)
class SceneConfig:
    """Scene generation settings (defaults: the issue's 128×128, 1–6 digits of 12–48 px, 4000/500/1000)."""

    seed: int = 0
    image_size: int = 128
    min_digits: int = 1
    max_digits: int = 6
    min_digit_size: int = 12
    max_digit_size: int = 48
    aspect_jitter: float = 0.15
    max_iou: float = 0.3
    noise: float = 0.03
    clutter: int = 3
    n_train: int = 4000
    n_val: int = 500
    n_test: int = 1000

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", low=0)
        check_int(self.image_size, "image_size", low=16, high=4096)
        check_int(self.min_digits, "min_digits", low=0)
        check_int(self.max_digits, "max_digits", low=max(1, self.min_digits))
        check_int(self.min_digit_size, "min_digit_size", low=4)
        check_int(self.max_digit_size, "max_digit_size", low=self.min_digit_size, high=self.image_size)
        check_float(self.aspect_jitter, "aspect_jitter", low=0.0, high=0.9)
        check_float(self.max_iou, "max_iou", low=0.0, high=1.0)
        check_float(self.noise, "noise", low=0.0, high=0.5)
        check_int(self.clutter, "clutter", low=0)
        for name in ("n_train", "n_val", "n_test"):
            check_int(getattr(self, name), name, low=0)

    def count(self, split: str) -> int:
        """Number of scenes in ``split``."""
        return int(getattr(self, f"n_{_check_split(split)}"))


@dataclass(frozen=True)
class Scene:
    """One rendered scene: ``image [H, W] uint8``, ``boxes [N, 4] float32`` xyxy pixels, ``labels [N] int64``
    (digits 0–9) and ``sources [N] int64`` (indices of the source digits into ``load_digits()``)."""

    image: NDArray[np.uint8]
    boxes: NDArray[np.float32]
    labels: NDArray[np.int64]
    sources: NDArray[np.int64]
    masks: NDArray[np.bool_] | None = None  # [N, H, W] ink masks, with ``render_scene(..., masks=True)``
    glyphs: tuple[NDArray[np.float64], ...] = ()  # [N] the pasted glyphs (alpha in [0, 1]) with ``masks=True``
    corners: tuple[tuple[int, int], ...] = ()  # [N] their (top, left) corners


def _check_split(split: object) -> str:
    if split not in _SPLIT_CODE:
        raise ValueError(f"split must be one of 'train', 'val', 'test'; got {split!r}")
    return str(split)


@lru_cache(maxsize=1)
def _source_digits() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images / 16.0, d.target.astype(np.int64)  # [1797, 8, 8] in [0, 1], [1797]


@lru_cache(maxsize=16)
def source_indices(seed: int, split: str) -> NDArray[np.int64]:
    """Sorted indices of the source digits a scene of ``split`` may use (70 / 10 / 20 % stratified by ``seed``)."""
    _, labels = _source_digits()
    parts = dict(zip(SPLITS, split_indices(labels, seed), strict=True))
    out = np.sort(parts[_check_split(split)])
    out.setflags(write=False)
    return out


def _pair_iou(box: NDArray[np.float64], others: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU of one xyxy box with ``others [K, 4]`` (``[K]``)."""
    lt = np.maximum(box[:2], others[:, :2])
    rb = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(others) - inter)


def _background(rng: np.random.Generator, size: int, config: SceneConfig) -> NDArray[np.float64]:
    canvas = np.full((size, size), rng.uniform(0.0, 0.12))
    canvas += rng.normal(0.0, config.noise, (size, size)) if config.noise > 0 else 0.0
    yy, xx = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    for _ in range(int(rng.integers(0, config.clutter + 1))):  # faint strokes
        x0, y0, x1, y1 = rng.uniform(0, size, 4)
        d = np.array([x1 - x0, y1 - y0])
        t = np.clip(((xx - x0) * d[0] + (yy - y0) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
        dist = np.hypot(xx - (x0 + t * d[0]), yy - (y0 + t * d[1]))
        canvas += rng.uniform(0.08, 0.2) * (dist < rng.uniform(0.5, 1.5))
    for _ in range(int(rng.integers(0, config.clutter + 1))):  # faint blobs
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(2, 8)
        canvas += rng.uniform(0.05, 0.15) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    return canvas


def render_scene(split: str, index: int, config: SceneConfig | None = None, masks: bool = False) -> Scene:
    """Render scene ``index`` of ``split`` (deterministic per ``(config.seed, split, index)``; see the module
    docstring for the recipe). ``masks=True`` also returns the ink masks and glyphs (for copy-paste demos and
    :func:`rgb_sample`); the image is the same either way."""
    config = config or SceneConfig()
    split = _check_split(split)
    index = check_int(index, "index", low=0)
    images, labels = _source_digits()
    pool = source_indices(config.seed, split)
    rng = np.random.default_rng([config.seed, _SPLIT_CODE[split], index])
    size = config.image_size
    canvas = _background(rng, size, config)
    boxes: list[NDArray[np.float64]] = []
    out_labels: list[int] = []
    sources: list[int] = []
    placed: list[tuple[NDArray[np.float64], int, int]] = []
    for _ in range(int(rng.integers(config.min_digits, config.max_digits + 1))):
        k = int(pool[rng.integers(0, len(pool))])
        h = int(rng.integers(config.min_digit_size, config.max_digit_size + 1))
        w = int(np.clip(round(h * (1 + rng.uniform(-config.aspect_jitter, config.aspect_jitter))), 4, size))
        glyph = np.clip(resize_bilinear(images[k][None], (h, w))[0], 0.0, 1.0)  # [h, w]
        ink = glyph > INK_THRESHOLD
        rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        if rows.size == 0:
            continue
        tight = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)  # in the glyph
        for _try in range(_PLACEMENT_TRIES):
            top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
            box = tight + np.array([left, top, left, top], dtype=np.float64)
            if not boxes or float(_pair_iou(box, np.stack(boxes)).max()) <= config.max_iou:
                break
        else:
            continue
        intensity = rng.uniform(0.55, 1.0)
        region = canvas[top : top + h, left : left + w]
        canvas[top : top + h, left : left + w] = region * (1 - glyph) + intensity * glyph
        boxes.append(box)
        out_labels.append(int(labels[k]))
        sources.append(k)
        placed.append((glyph, top, left))
    image = np.clip(np.round(canvas * 255), 0, 255).astype(np.uint8)
    ink_masks = None
    if masks:
        ink_masks = np.zeros((len(placed), size, size), dtype=bool)
        for n, (glyph, top, left) in enumerate(placed):
            ink_masks[n, top : top + glyph.shape[0], left : left + glyph.shape[1]] = glyph > INK_THRESHOLD
    return Scene(
        image=image,
        boxes=(np.stack(boxes) if boxes else np.zeros((0, 4))).astype(np.float32),
        labels=np.array(out_labels, dtype=np.int64),
        sources=np.array(sources, dtype=np.int64),
        masks=ink_masks,
        glyphs=tuple(g for g, _, _ in placed) if masks else (),
        corners=tuple((t, left) for _, t, left in placed) if masks else (),
    )


def rgb_sample(scene: Scene, seed: int = 0) -> dict[str, Any]:
    """An RGB version of a scene rendered with ``masks=True`` (the augmentation previews' colour and copy-paste
    demos): the grey background tinted by a random colour, each digit painted in its own random colour through
    its glyph. Returns ``{"image": Tensor[3, H, W] uint8, "boxes", "labels", "masks": Tensor[N, H, W] bool}``;
    boxes and masks are the grey scene's."""
    import torch

    if scene.masks is None:
        raise ValueError("rgb_sample needs a scene rendered with masks=True")
    rng = np.random.default_rng([seed, 7])
    grey = scene.image.astype(np.float64) / 255.0  # [H, W]
    tint = rng.uniform(0.3, 1.0, 3)
    canvas = np.clip(grey[None] * 0.6 + 0.25 * tint[:, None, None] * (1 - grey[None]), 0, 1)  # [3, H, W]
    for glyph, (top, left) in zip(scene.glyphs, scene.corners, strict=True):
        colour = rng.uniform(0.45, 1.0, 3)
        h, w = glyph.shape
        region = canvas[:, top : top + h, left : left + w]
        canvas[:, top : top + h, left : left + w] = region * (1 - glyph) + colour[:, None, None] * glyph
    return {
        "image": torch.from_numpy(np.round(canvas * 255).astype(np.uint8)),
        "boxes": torch.from_numpy(scene.boxes.copy()),
        "labels": torch.from_numpy(scene.labels.copy()),
        "masks": torch.from_numpy(scene.masks.copy()),
    }


class DigitScenes:
    """``n`` scenes as sample dicts for the augmentation previews: ``rgb=True`` (default) gives coloured digits with
    instance masks (:func:`rgb_sample`; copy-paste needs the masks), ``rgb=False`` the grey detection scenes.
    Item ``i`` is test-split scene ``i`` of ``SceneConfig(seed=seed, image_size=size)``."""

    def __init__(self, n: int = 16, size: int = 96, seed: int = 0, rgb: bool = True, max_digits: int = 4) -> None:
        check_int(n, "n", low=1)
        self.n, self.rgb, self.seed = int(n), bool(rgb), int(seed)
        self.config = SceneConfig(seed=seed, image_size=int(size), max_digits=max_digits,
                                  max_digit_size=min(36, int(size)), min_digit_size=min(18, int(size)),
                                  n_train=1, n_val=1, n_test=self.n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        if not 0 <= int(index) < self.n:
            raise IndexError(f"index {index} out of range for {self.n} scenes")
        scene = render_scene("test", int(index), self.config, masks=True)
        if self.rgb:
            return rgb_sample(scene, self.seed * 1_000_003 + int(index))
        return {"image": torch.from_numpy(scene.image)[None], "boxes": torch.from_numpy(scene.boxes),
                "labels": torch.from_numpy(scene.labels), "masks": torch.from_numpy(scene.masks)}


def file_name(index: int) -> str:
    """The file name of scene ``index`` inside its split's image folder."""
    return f"{index:06d}.png"


def coco_dict(split: str, config: SceneConfig | None = None, scenes: list[Scene] | None = None) -> dict[str, Any]:
    """The COCO ground truth of ``split``: image ids ``index + 1``, category ids ``digit + 1``, xywh boxes."""
    config = config or SceneConfig()
    n = config.count(split)
    images, annotations = [], []
    for i in range(n):
        scene = scenes[i] if scenes is not None else render_scene(split, i, config)
        images.append({"id": i + 1, "file_name": file_name(i), "height": config.image_size, "width": config.image_size})
        for box, label in zip(scene.boxes.tolist(), scene.labels.tolist(), strict=True):
            x1, y1, x2, y2 = box
            annotations.append({
                "id": len(annotations) + 1, "image_id": i + 1, "category_id": int(label) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0,
            })
    return {
        "info": {"description": "dlprimer digit scenes", "scene_config": asdict(config), "split": split},
        "images": images, "annotations": annotations, "categories": CATEGORIES,
    }


def export_scenes(
    out: str | os.PathLike[str], config: SceneConfig | None = None, overwrite: bool = False
) -> dict[str, int]:
    """Write the COCO layout of all three splits under ``out`` (see the module docstring); returns the
    number of images per split. ``out`` must be new or empty unless ``overwrite``."""
    from PIL import Image

    config = config or SceneConfig()
    root = prepare_output(out, overwrite=overwrite, kind="dir")
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in SPLITS:
        folder = root / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        scenes = [render_scene(split, i, config) for i in range(config.count(split))]
        for i, scene in enumerate(scenes):
            atomic_write(folder / file_name(i), lambda fh, s=scene: Image.fromarray(s.image, mode="L").save(fh, "PNG"))
        atomic_write_json(root / "annotations" / f"instances_{split}.json", coco_dict(split, config, scenes))
        counts[split] = len(scenes)
    return counts


class SceneDataset:
    """The scenes of one split as sample dicts (a map-style dataset for ``torch.utils.data.DataLoader``).

    Item ``i``: ``{"image": Tensor[1, H, W] uint8, "boxes": Tensor[N, 4] float32 xyxy, "labels": Tensor[N]
    int64 (digits 0–9, i.e. contiguous labels), "image_id": Tensor[] int64 (= i + 1)}``. Rendered scenes are
    kept in memory (``cache=True``), so an item is generated once however often mosaic draws it.
    """

    in_channels = 1
    num_classes = 10
    category_ids = tuple(c["id"] for c in CATEGORIES)
    category_names = tuple(c["name"] for c in CATEGORIES)

    def __init__(self, split: str, config: SceneConfig | None = None, cache: bool = True) -> None:
        self.split = _check_split(split)
        self.config = config or SceneConfig()
        self.cache: dict[int, Scene] | None = {} if cache else None

    def __len__(self) -> int:
        return self.config.count(self.split)

    def scene(self, index: int) -> Scene:
        """The rendered :class:`Scene` ``index`` (from the cache when present)."""
        n = len(self)
        if not 0 <= int(index) < n:
            raise IndexError(f"index {index} out of range for {n} {self.split} scenes")
        if self.cache is None:
            return render_scene(self.split, int(index), self.config)
        if index not in self.cache:
            self.cache[int(index)] = render_scene(self.split, int(index), self.config)
        return self.cache[int(index)]

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        s = self.scene(index)
        return {
            "image": torch.from_numpy(s.image)[None],
            "boxes": torch.from_numpy(s.boxes),
            "labels": torch.from_numpy(s.labels),
            "image_id": torch.tensor(int(index) + 1),
        }

    def coco(self) -> dict[str, Any]:
        """The COCO ground truth of this split (identical to the exported ``instances_<split>.json``)."""
        return coco_dict(self.split, self.config, [self.scene(i) for i in range(len(self))])
