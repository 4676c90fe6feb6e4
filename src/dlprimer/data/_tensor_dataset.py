"""A torch Dataset over in-memory image and label arrays."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


class ArrayDataset(Dataset):
    """``(image Tensor[C, H, W] float32, label int)`` pairs from arrays ``images [N, C, H, W]``, ``labels [N]``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: float = 0.0, std: float = 1.0) -> None:
        if images.ndim != 4:
            raise ValueError(f"images must have shape [N, C, H, W], got {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape [{images.shape[0]}], got {labels.shape}")
        self.images = torch.from_numpy(np.array(images, dtype=np.float32))
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64))
        self.mean = float(mean)
        self.std = float(std)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])
