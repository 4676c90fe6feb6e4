"""Random shift (translation by whole pixels): the one shift augmentation of dlprimer (notes: 数据增强, 平移).

An image moved by ``(dx, dy)`` pixels shows ``out[y, x] = image[y − dy, x − dx]``; the revealed border takes
``fill`` (0 for samples). This is a crop whose window starts at ``(top, left) = (−dy, −dx)`` and leaves the
image, so the sample transform reuses :func:`~dlprimer.augment.geometric.crop_sample`: boxes move with the
content, are clipped to the image, and the drop rule removes boxes pushed out (masks move too).

* :class:`RandomShift` (registered as ``"shift"``): one sample, ``dx, dy ~ U{−max_shift, …, max_shift}``.
* :func:`random_shift`: a batch ``[N, C, H, W]`` of images without boxes, each with its own offsets, in one
  gather (what classification training uses); equals ``crop(image, −dy, −dx, H, W)`` per image with
  ``fill = 0``.

``dlprimer.scratch.data.random_shift`` is the NumPy twin for the scratch engine (scratch never imports
torch); it replicates the edge pixels instead of filling.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer._checks import check_float, check_int
from dlprimer.augment._base import Transform
from dlprimer.augment._checks import check_image, randint
from dlprimer.augment.geometric import crop_sample
from dlprimer.augment.sample import Sample, check_drop_args

__all__ = ["RandomShift", "random_shift", "shift_sample"]


def shift_sample(
    sample: Sample, dx: int, dy: int, *, min_visibility: float = 0.25, min_size: float = 1.0
) -> Sample:
    """Move the image content (and boxes, masks) by ``dx`` pixels right and ``dy`` down, zero fill;
    boxes are clipped and the drop rule applied (see :func:`~dlprimer.augment.geometric.crop_sample`)."""
    dx, dy = check_int(dx, "dx"), check_int(dy, "dy")
    h, w = sample["image"].shape[-2:]
    return crop_sample(sample, -dy, -dx, h, w, min_visibility=min_visibility, min_size=min_size)


class RandomShift(Transform):
    """Shift by ``dx, dy`` drawn uniformly from the integers ``[−max_shift, max_shift]`` (zero fill)."""

    def __init__(self, max_shift: int = 4, min_visibility: float = 0.25, min_size: float = 1.0) -> None:
        self.max_shift = check_int(max_shift, "max_shift", low=0)
        self.min_visibility, self.min_size = check_drop_args(min_visibility, min_size)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        k = self.max_shift
        dx, dy = randint(-k, k, generator), randint(-k, k, generator)
        return shift_sample(sample, dx, dy, min_visibility=self.min_visibility, min_size=self.min_size)


def random_shift(images: Tensor, max_shift: int, generator: torch.Generator | None, fill: float = 0.0) -> Tensor:
    """Shift each image of ``images: [N, C, H, W]`` by its own offsets in ``[−max_shift, max_shift]``.

    The revealed border takes ``fill`` (e.g. the normalized background of the digits). Offsets come from
    ``generator``: one ``torch.randint(0, 2k + 1, (2, N))`` draw (rows, then columns), so runs are
    reproducible. Returns a new tensor of the same shape, dtype and device.
    """
    check_image(images, "images", batched=True)
    k = check_int(max_shift, "max_shift", low=0)
    fill = check_float(fill, "fill")
    if k == 0 or images.shape[0] == 0:
        return images.clone()
    n, c, h, w = images.shape
    dev = images.device
    padded = torch.nn.functional.pad(images, (k, k, k, k), value=fill)  # [N, C, H+2k, W+2k]
    off = torch.randint(0, 2 * k + 1, (2, n), generator=generator).to(dev)  # [2, N]; shift = k − off
    rows = off[0][:, None] + torch.arange(h, device=dev)  # [N, H]
    cols = off[1][:, None] + torch.arange(w, device=dev)  # [N, W]
    idx_n = torch.arange(n, device=dev)[:, None, None, None]
    idx_c = torch.arange(c, device=dev)[None, :, None, None]
    return padded[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
