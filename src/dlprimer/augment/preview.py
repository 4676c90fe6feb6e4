"""Preview grids: originals and augmented versions side by side, boxes drawn (``dlprimer augment preview``).

Images come from :class:`DigitScenes` -- real handwritten digits from scikit-learn's ``load_digits`` (shipped
with scikit-learn, nothing downloaded), upscaled, coloured and pasted at random positions on a canvas, with
tight boxes, labels (the digit) and instance masks -- or from :class:`FolderImages` (PNG/JPEG, no boxes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from dlprimer._io import atomic_savefig
from dlprimer.augment import functional as F
from dlprimer.augment.compose import Compose
from dlprimer.augment.dataset import MixingDataset
from dlprimer.augment.registry import MULTI_SAMPLE, create
from dlprimer.augment.sample import Sample, boxes_from_masks

__all__ = ["DigitScenes", "FolderImages", "digit_scene", "preview_samples", "save_preview_grid"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)  # [1797, 8, 8] in [0, 1], [1797]


def digit_scene(
    n_digits: int = 4,
    size: Sequence[int] = (96, 96),
    digit_size: Sequence[int] = (18, 36),
    generator: torch.Generator | None = None,
) -> Sample:
    """One RGB uint8 scene of up to ``n_digits`` non-overlapping coloured digits on a smooth background.

    Returns ``{"image" [3, H, W] uint8, "boxes" [N, 4] float32 (tight around the ink), "labels" [N] int64,
    "masks" [N, H, W] bool}``; a digit that finds no free place in 30 tries is left out.
    """
    h, w = int(size[0]), int(size[1])
    images, targets = _digits()
    yy = torch.linspace(0, 1, h)[:, None]
    xx = torch.linspace(0, 1, w)[None, :]
    base = torch.rand(3, generator=generator) * 0.35
    tilt = torch.rand(3, generator=generator) * 0.3
    canvas = (base[:, None, None] + tilt[:, None, None] * (xx + yy) / 2).clamp(0, 1)  # [3, H, W]
    masks: list[Tensor] = []
    labels: list[int] = []
    taken = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(n_digits):
        k = int(torch.randint(0, len(targets), (), generator=generator))
        s = int(torch.randint(int(digit_size[0]), int(digit_size[1]) + 1, (), generator=generator))
        s = min(s, h, w)
        glyph = F.resize(torch.from_numpy(images[k])[None], [s, s])[0]  # [s, s] in [0, 1]
        for _try in range(30):
            top = int(torch.randint(0, h - s + 1, (), generator=generator))
            left = int(torch.randint(0, w - s + 1, (), generator=generator))
            if not bool(taken[top : top + s, left : left + s].any()):
                break
        else:
            continue
        ink = glyph > 0.3
        if not bool(ink.any()):
            continue
        colour = 0.55 + 0.45 * torch.rand(3, generator=generator)
        region = canvas[:, top : top + s, left : left + s]
        ink_rgb = colour[:, None, None] * glyph.clamp(0.6, 1)  # [3, s, s]
        canvas[:, top : top + s, left : left + s] = torch.where(ink, ink_rgb, region)
        m = torch.zeros(h, w, dtype=torch.bool)
        m[top : top + s, left : left + s] = ink
        taken[top : top + s, left : left + s] = True
        masks.append(m)
        labels.append(int(targets[k]))
    mask_t = torch.stack(masks) if masks else torch.zeros((0, h, w), dtype=torch.bool)
    return {
        "image": (canvas * 255).round().to(torch.uint8),
        "boxes": boxes_from_masks(mask_t),
        "labels": torch.tensor(labels, dtype=torch.int64),
        "masks": mask_t,
    }


class DigitScenes(torch.utils.data.Dataset):
    """``n`` reproducible digit scenes (item ``i`` is seeded by ``(seed, i)``)."""

    def __init__(self, n: int = 16, size: Sequence[int] = (96, 96), n_digits: int = 4, seed: int = 0) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n, self.size, self.n_digits, self.seed = n, (int(size[0]), int(size[1])), n_digits, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Sample:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(i))
        return digit_scene(self.n_digits, self.size, generator=g)


def _read_image(path: Path) -> Tensor:
    from dlprimer.data.images import read_image  # the one image decoder (pixel limit, one-line errors)

    arr = read_image(path)  # [H, W, 1 or 3] uint8
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).contiguous()  # [3, H, W]


class FolderImages(torch.utils.data.Dataset):
    """The PNG/JPEG images of a folder (sorted by name), as uint8 ``[3, H, W]`` samples without boxes,
    resized so that the longer side is at most ``max_side``."""

    def __init__(self, folder: str | os.PathLike[str], max_side: int = 256) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise ValueError(f"images folder {str(root)!r} does not exist or is not a folder")
        self.paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise ValueError(f"images folder {str(root)!r} holds no PNG or JPEG file")
        self.max_side = max_side

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Sample:
        image = _read_image(self.paths[i])
        h, w = image.shape[-2:]
        if max(h, w) > self.max_side:
            f = self.max_side / max(h, w)
            image = F.resize(image, [max(1, round(h * f)), max(1, round(w * f))])
        return {"image": image, "boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.int64)}


def preview_samples(
    ops: Sequence[str], n: int = 8, seed: int = 0, dataset: torch.utils.data.Dataset | None = None
) -> list[tuple[Sample, Sample]]:
    """``n`` pairs ``(original, augmented)``; single-sample ops are composed in order, multi-sample ops
    (mosaic, mixup, copy_paste) draw their extra samples from the same dataset."""
    if not ops:
        raise ValueError("ops must name at least one augmentation")
    singles = [create(op) for op in ops if op not in MULTI_SAMPLE]
    multis = [create(op) for op in ops if op in MULTI_SAMPLE]
    base = dataset if dataset is not None else DigitScenes(n=max(2 * n, 16), seed=seed)
    mixed = MixingDataset(base, mixes=multis, transform=Compose(singles) if singles else None, seed=seed)
    return [(dict(base[i % len(base)]), mixed[i % len(base)]) for i in range(n)]


def _draw(ax: object, sample: Sample, title: str) -> None:
    from matplotlib.patches import Rectangle

    img = sample["image"]
    arr = img.permute(1, 2, 0).cpu().numpy()
    if img.is_floating_point():
        arr = np.clip(arr, 0, 1)
    ax.imshow(arr if arr.shape[2] == 3 else arr[:, :, 0], cmap=None if arr.shape[2] == 3 else "gray")
    boxes = sample.get("boxes", torch.zeros((0, 4))).cpu()
    labels = sample.get("labels")
    for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor="lime", linewidth=1))
        if labels is not None and k < len(labels):
            ax.text(x1 - 0.5, y1 - 1.5, str(int(labels[k])), color="yellow", fontsize=6)
    ax.set_title(title, fontsize=7)
    ax.set_axis_off()


def save_preview_grid(pairs: Sequence[tuple[Sample, Sample]], out: str | os.PathLike[str], title: str = "") -> Path:
    """Draw the pairs (two pairs per row: original | augmented) and write the figure atomically to ``out``
    (:func:`dlprimer._io.atomic_savefig`; format from its suffix: png, jpg, pdf, svg)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_path = Path(out)
    fmt = out_path.suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "jpg", "jpeg", "pdf", "svg"):
        raise ValueError(f"out must end in .png, .jpg, .pdf or .svg, got {str(out_path)!r}")
    rows = (len(pairs) + 1) // 2
    fig, axes = plt.subplots(rows, 4, figsize=(8, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for k, (orig, aug) in enumerate(pairs):
        r, c = divmod(k, 2)
        _draw(axes[r, 2 * c], orig, f"#{k} original")
        _draw(axes[r, 2 * c + 1], aug, f"#{k} augmented")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    try:
        atomic_savefig(fig, out_path, dpi=110)
    finally:
        plt.close(fig)
    return out_path
