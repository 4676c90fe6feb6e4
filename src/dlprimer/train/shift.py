"""Light shift augmentation for a batch of images: each image moves by up to ±``max_shift`` pixels.

The revealed border takes ``fill`` (the normalized background value of the digits). Vectorized: one
gather for the whole batch, offsets drawn from the caller's ``torch.Generator`` so runs are reproducible.
"""

from __future__ import annotations

import torch
from torch import Tensor


def random_shift(images: Tensor, max_shift: int, generator: torch.Generator, fill: float = 0.0) -> Tensor:
    """Shift each image of ``images [N, C, H, W]`` by integer offsets in ``[-max_shift, max_shift]``.

    Returns a new tensor of the same shape, dtype and device.
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape [N, C, H, W], got {tuple(images.shape)}")
    if max_shift == 0 or images.shape[0] == 0:
        return images.clone()
    n, c, h, w = images.shape
    k = int(max_shift)
    padded = torch.nn.functional.pad(images, (k, k, k, k), value=fill)  # [N, C, H+2k, W+2k]
    off = torch.randint(0, 2 * k + 1, (2, n), generator=generator).to(images.device)  # [2, N]
    rows = off[0][:, None] + torch.arange(h, device=images.device)  # [N, H]
    cols = off[1][:, None] + torch.arange(w, device=images.device)  # [N, W]
    idx_n = torch.arange(n, device=images.device)[:, None, None, None]
    idx_c = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
