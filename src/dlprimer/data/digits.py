"""The embedded default dataset: scikit-learn's 8×8 handwritten digits, resized for CNNs.

scikit-learn ships 1,797 real 8×8 grey-level digit images (UCI optical recognition of handwritten
digits, values 0..16) inside the package, so nothing is downloaded. This module

1. scales the pixels to [0, 1] (÷ 16) and resizes them to ``size × size`` with bilinear interpolation
   (``align_corners=False``, the convention of ``torch.nn.functional.interpolate``);
2. splits them 70 / 10 / 20 % into train / val / test, stratified by class, deterministically by ``seed``
   (``sklearn.model_selection.train_test_split``: first the test fifth, then an eighth of the rest);
3. normalizes with the mean and standard deviation of the *training split only* (no leakage).

``load_digits_arrays`` returns NumPy arrays (used by the NumPy engine); ``load_digits`` wraps them in
torch Datasets of ``(image [1, size, size] float32, label int)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

NUM_CLASSES = 10
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)


@dataclass(frozen=True)
class DigitsArrays:
    """Normalized arrays of one split: ``images [N, 1, size, size] float32``, ``labels [N] int64``."""

    images: NDArray[np.float32]
    labels: NDArray[np.int64]


@dataclass(frozen=True)
class DigitsSplits:
    """The three splits plus the training-split normalization statistics (of pixels in [0, 1])."""

    train: DigitsArrays
    val: DigitsArrays
    test: DigitsArrays
    mean: float
    std: float

    @property
    def class_names(self) -> tuple[str, ...]:
        """The class names, ``"0"`` … ``"9"``."""
        return tuple(str(k) for k in range(NUM_CLASSES))


def _check(seed: int, size: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 8 <= size <= 256:
        raise ValueError(f"size must be an int in [8, 256], got {size!r}")


def resize_bilinear(images: NDArray[np.floating], size: int) -> NDArray[np.float64]:
    """Resize ``[N, H, W]`` images to ``[N, size, size]`` by bilinear interpolation.

    Half-pixel centres (``align_corners=False``): output pixel ``i`` samples the input at
    ``(i + 0.5) · H / size − 0.5``, clamped to ``[0, H − 1]``; equals
    ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` for upsampling.
    """
    n, h, w = images.shape

    def axis_weights(src: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        pos = np.clip((np.arange(size) + 0.5) * src / size - 0.5, 0.0, src - 1)  # [size]
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, src - 1)
        return lo, hi, pos - lo

    y0, y1, fy = axis_weights(h)
    x0, x1, fx = axis_weights(w)
    img = images.astype(np.float64)
    top = img[:, y0, :] * (1 - fy)[None, :, None] + img[:, y1, :] * fy[None, :, None]  # [N, size, W]
    return top[:, :, x0] * (1 - fx) + top[:, :, x1] * fx  # [N, size, size]


@lru_cache(maxsize=8)
def load_digits_arrays(seed: int = 0, size: int = 32) -> DigitsSplits:
    """Load, resize, split and normalize the digits (see the module docstring). Cached per (seed, size)."""
    _check(seed, size)
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    images = resize_bilinear(bunch.images / 16.0, int(size))  # [1797, size, size] in [0, 1]
    labels = bunch.target.astype(np.int64)
    index = np.arange(labels.shape[0])
    rest, test = train_test_split(
        index, test_size=SPLIT_FRACTIONS[2], stratify=labels, random_state=int(seed)
    )
    val_share = SPLIT_FRACTIONS[1] / (SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1])
    train, val = train_test_split(
        rest, test_size=val_share, stratify=labels[rest], random_state=int(seed)
    )
    mean = float(images[train].mean())
    std = float(images[train].std())

    def make(idx: NDArray[np.int64]) -> DigitsArrays:
        x = ((images[np.sort(idx)] - mean) / std).astype(np.float32)[:, None]  # [N, 1, size, size]
        x.setflags(write=False)
        y = labels[np.sort(idx)]
        y.setflags(write=False)
        return DigitsArrays(images=x, labels=y)

    return DigitsSplits(train=make(train), val=make(val), test=make(test), mean=mean, std=std)


def load_digits(seed: int = 0, size: int = 32) -> tuple:
    """``(train, val, test)`` torch Datasets of ``(image [1, size, size] float32, label int)``.

    Each dataset also exposes ``.images`` (``Tensor[N, 1, size, size]``), ``.labels`` (``Tensor[N]``),
    ``.mean`` and ``.std`` (training-split statistics used for normalization).
    """
    from dlprimer.data._tensor_dataset import ArrayDataset

    splits = load_digits_arrays(seed, size)
    return tuple(
        ArrayDataset(part.images, part.labels, mean=splits.mean, std=splits.std)
        for part in (splits.train, splits.val, splits.test)
    )
