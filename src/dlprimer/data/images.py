"""Your own images: THE image decoder of dlprimer and the image-folder dataset.

**Decoder.** :func:`read_image` decodes one file with Pillow (PNG, JPEG, BMP, GIF, WebP, TIFF) into a uint8
array ``[H, W, C]`` with ``C = 1`` (grey) or ``3`` (RGB): palette images are expanded, RGBA/LA drop their alpha
(as ``PIL.Image.convert("RGB")`` and timm do), 16-bit grey is scaled to 8 bits. The pixel count is checked from
the header *before* decoding (``max_pixels``, default 40 megapixels) against decompression bombs. Every failure
is one :class:`ImageError` (a ``ValueError``) naming the file.

**Image folder.** :func:`load_image_folder` reads ``ROOT/<class>/<image>`` (one sub-folder per class, sorted
names = class indices), or ``ROOT/train|val|test/<class>/<image>`` when ``ROOT/train`` exists (``val``/``test``
optional: missing ones are split off ``train``). Without given splits, a stratified split by ``seed``
(``sklearn.model_selection.train_test_split``: first ``test_split``, then ``val_split`` of the whole from the
rest). Each image is resized so its shorter side is ``image_size`` (bilinear) and centre-cropped to a square.
The data is grey (1 channel) when every image is grey, else RGB. Normalization statistics (per channel, of
pixels in [0, 1]) come from the training split only.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer._checks import check_bool, check_float, check_int

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_PIXELS = 40_000_000
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "FolderSplits", "ImageError", "LabelledImages", "load_image_folder",
           "prepare_for_model", "read_image", "resize_square"]


class ImageError(ValueError):
    """An image file that cannot be used (unreadable, not an image, too large); the message names the file."""


def read_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> NDArray[np.uint8]:
    """Decode ``path`` into uint8 ``[H, W, 1]`` (grey) or ``[H, W, 3]`` (RGB) — see the module docstring."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(p) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageError(f"image {p} has {w}x{h} = {w * h} pixels, more than the limit of "
                                     f"{max_pixels} (a decompression bomb?)")
                if w == 0 or h == 0:
                    raise ImageError(f"image {p} is empty ({w}x{h})")
                mode = img.mode
                if mode == "P":
                    img = img.convert("RGBA" if "transparency" in img.info else "RGB")
                    mode = img.mode
                if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                    arr = np.asarray(img, dtype=np.float64)
                    top = 65535.0 if mode.startswith("I") and arr.max() > 255 else 255.0
                    out = np.clip(arr / top * 255.0, 0, 255).round().astype(np.uint8)[:, :, None]
                elif mode in _GREY_MODES:
                    out = np.asarray(img.convert("L"), dtype=np.uint8)[:, :, None]
                else:
                    out = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ImageError(f"cannot read image {p}: {first}") from None
    return np.array(out, dtype=np.uint8, order="C")  # a writable copy (Pillow's buffers are read-only)


def resize_square(image: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Resize ``[H, W, C]`` uint8 so the shorter side is ``size`` (bilinear), then centre-crop ``size × size``."""
    from PIL import Image

    h, w, c = image.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    pil = Image.fromarray(image[:, :, 0] if c == 1 else image)
    arr = np.asarray(pil.resize((nw, nh), Image.Resampling.BILINEAR), dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    top, left = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(arr[top:top + size, left:left + size])


def _to_channels(image: NDArray[np.uint8], channels: int) -> NDArray[np.uint8]:
    if image.shape[2] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=2)
    # ITU-R 601-2 luma, as PIL's convert("L")
    grey = image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114
    return np.clip(grey.round(), 0, 255).astype(np.uint8)[:, :, None]


def prepare_for_model(path: str | os.PathLike[str], size: int, channels: int, mean: Any, std: Any,
                      digits_style: bool = False) -> NDArray[np.float32]:
    """One image file as a model input ``[channels, size, size]`` float32, normalized with ``mean``/``std``.

    ``digits_style``: the embedded digits are light ink on a dark ground at 8×8 resolution; a photographed or
    drawn digit (dark on light) is inverted when its border is light, and the whole image is squashed to
    ``size × size`` (no crop).
    """
    img = _to_channels(read_image(path), channels)
    if digits_style:
        from dlprimer.data.digits import resize_bilinear

        x = img[..., 0].astype(np.float64) / 255.0
        border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
        if border.mean() > 0.5:
            x = 1.0 - x
        x = resize_bilinear(x[None], size)  # [1, size, size]
    else:
        x = resize_square(img, size).transpose(2, 0, 1).astype(np.float64) / 255.0  # [C, size, size]
    m = np.asarray(mean, dtype=np.float64).reshape(-1, 1, 1)
    s = np.asarray(std, dtype=np.float64).reshape(-1, 1, 1)
    return ((x - m) / s).astype(np.float32)


# ----------------------------------------------------------------------------------------- image folder
@dataclass(frozen=True)
class LabelledImages:
    """One split: normalized ``images [N, C, S, S] float32``, ``labels [N] int64``, the uint8 originals
    ``raw [N, C, S, S]`` (what augmentations start from) and the file ``paths``."""

    images: NDArray[np.float32]
    labels: NDArray[np.int64]
    raw: NDArray[np.uint8]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class FolderSplits:
    """train/val/test of an image folder with the training split's per-channel ``mean``/``std``."""

    train: LabelledImages
    val: LabelledImages
    test: LabelledImages
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def _class_dirs(root: Path) -> list[Path]:
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise ValueError(f"--data {str(root)!r} holds no class sub-folders (expected ROOT/<class>/<image>)")
    return dirs


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def load_image_folder(root: str | os.PathLike[str], image_size: int = 64, val_split: float = 0.1,
                      test_split: float = 0.2, seed: int = 0, skip_bad_images: bool = False,
                      max_pixels: int = MAX_PIXELS, classes: tuple[str, ...] | None = None) -> FolderSplits:
    """Read an image folder into normalized splits (see the module docstring).

    A file that cannot be decoded raises :class:`ImageError` naming it; with ``skip_bad_images`` it is left out
    and one warning gives the count. ``classes`` restricts the data to those class folders (in that order).
    """
    image_size = check_int(image_size, "image_size", low=8, high=512)
    val_split = check_float(val_split, "val_split", low=0.0, high=0.5, low_open=True)
    test_split = check_float(test_split, "test_split", low=0.0, high=0.5, low_open=True)
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    skip_bad_images = check_bool(skip_bad_images, "skip_bad_images")
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"--data {str(base)!r} is not a folder")
    split_dirs = {s: base / s for s in ("train", "val", "test") if (base / s).is_dir()}
    given = "train" in split_dirs
    class_root = split_dirs["train"] if given else base
    names = [d.name for d in _class_dirs(class_root)]
    if classes is not None:
        missing = [c for c in classes if c not in names]
        if missing:
            raise ValueError(f"--classes: no class folder {missing[0]!r} in {str(class_root)!r}; "
                             f"known: {', '.join(names)}")
        names = list(classes)
    if len(names) < 2:
        raise ValueError(f"--data {str(base)!r} needs at least 2 class folders, found {len(names)}")
    index = {n: k for k, n in enumerate(names)}

    def listing(folder: Path) -> list[tuple[Path, int]]:
        items = []
        for d in _class_dirs(folder):
            if d.name in index:
                items.extend((f, index[d.name]) for f in _files(d))
            elif classes is None:
                raise ValueError(f"{str(d)!r} is a class folder missing from {str(class_root)!r}")
        return items

    parts = {s: listing(d) for s, d in split_dirs.items()} if given else {"all": listing(base)}
    skipped: list[str] = []
    decoded: dict[str, list[tuple[NDArray[np.uint8], int, str]]] = {}
    for part, items in parts.items():
        rows = []
        for path, label in items:
            try:
                rows.append((resize_square(read_image(path, max_pixels=max_pixels), image_size), label, str(path)))
            except ImageError:
                if not skip_bad_images:
                    raise
                skipped.append(str(path))
        decoded[part] = rows
    if skipped:
        warnings.warn(f"skipped {len(skipped)} unreadable image file(s) in {base} (first: {skipped[0]})",
                      stacklevel=2)
    channels = 1 if all(img.shape[2] == 1 for rows in decoded.values() for img, _, _ in rows) else 3

    def stack(rows: list[tuple[NDArray[np.uint8], int, str]]) -> tuple[NDArray[np.uint8], NDArray[np.int64],
                                                                        tuple[str, ...]]:
        if not rows:
            return (np.zeros((0, channels, image_size, image_size), np.uint8), np.zeros(0, np.int64), ())
        raw = np.stack([_to_channels(img, channels).transpose(2, 0, 1) for img, _, _ in rows])
        return raw, np.array([lab for _, lab, _ in rows], dtype=np.int64), tuple(p for _, _, p in rows)

    if given:
        arrays = {s: stack(decoded[s]) for s in split_dirs}
        train_raw, train_y, train_p = arrays["train"]
        pools = {"train": np.arange(train_y.size)}
        for s, share in (("test", test_split), ("val", val_split)):
            if s not in arrays:
                pools["train"], pools[s] = _split(pools["train"], train_y, share * train_y.size
                                                  / max(1, pools["train"].size), seed, s)
        splits = {}
        for s in ("train", "val", "test"):
            if s in arrays and s != "train":
                splits[s] = arrays[s]
            else:
                idx = np.sort(pools[s])
                splits[s] = (train_raw[idx], train_y[idx], tuple(train_p[i] for i in idx))
    else:
        raw, y, paths = stack(decoded["all"])
        rest, test = _split(np.arange(y.size), y, test_split, seed, "test")
        train, val = _split(rest, y, val_split / (1 - test_split), seed, "val")
        splits = {s: (raw[np.sort(i)], y[np.sort(i)], tuple(paths[j] for j in np.sort(i)))
                  for s, i in (("train", train), ("val", val), ("test", test))}
    train_raw = splits["train"][0]
    if train_raw.shape[0] == 0:
        raise ValueError(f"--data {str(base)!r}: the training split is empty")
    pixels = train_raw.astype(np.float64) / 255.0  # [N, C, S, S]
    mean = tuple(float(m) for m in pixels.mean(axis=(0, 2, 3)))
    std = tuple(max(float(s), 1e-6) for s in pixels.std(axis=(0, 2, 3)))
    m = np.asarray(mean).reshape(1, -1, 1, 1)
    sd = np.asarray(std).reshape(1, -1, 1, 1)

    def make(part: tuple[NDArray[np.uint8], NDArray[np.int64], tuple[str, ...]]) -> LabelledImages:
        r, lab, ps = part
        return LabelledImages(images=((r.astype(np.float64) / 255.0 - m) / sd).astype(np.float32), labels=lab,
                              raw=r, paths=ps)

    return FolderSplits(train=make(splits["train"]), val=make(splits["val"]), test=make(splits["test"]),
                        mean=mean, std=std, class_names=tuple(names), skipped=tuple(skipped))


def _split(index: NDArray[np.int64], labels: NDArray[np.int64], share: float, seed: int,
           what: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Stratified split of ``index`` into ``(rest, share of it)``."""
    from sklearn.model_selection import train_test_split

    try:
        rest, part = train_test_split(index, test_size=share, stratify=labels[index], random_state=seed)
    except ValueError as exc:
        raise ValueError(f"cannot split off a stratified {what} split of {share:.3g} from {index.size} images "
                         f"({exc}); add images, or raise --{what}-split") from None
    return np.asarray(rest), np.asarray(part)
