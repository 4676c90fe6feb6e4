"""The one random shift (``dlprimer.augment.shift``) against hand-sliced translations and torchvision v2's
``crop`` (a window that leaves the image is zero-padded there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision import tv_tensors

from dlprimer import augment as A


def translated(image: torch.Tensor, dx: int, dy: int, fill: float = 0.0) -> torch.Tensor:
    """Hand oracle: ``out[y, x] = image[y - dy, x - dx]`` where that pixel exists, else ``fill``."""
    h, w = image.shape[-2:]
    out = torch.full_like(image, fill)
    ys, xs = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
    if ys.start < ys.stop and xs.start < xs.stop:
        out[..., ys, xs] = image[..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    return out


@pytest.mark.parametrize("dx,dy", [(0, 0), (3, -2), (-5, 4), (7, 7), (-12, 0), (30, -30)])
def test_shift_sample_equals_hand_translation_and_torchvision(dx, dy):
    g = torch.Generator().manual_seed(0)
    image = torch.randint(1, 256, (3, 14, 20), dtype=torch.uint8, generator=g)
    boxes = torch.tensor([[2.0, 3.0, 9.0, 10.0], [12.0, 1.0, 19.0, 6.0]])
    out = A.shift_sample({"image": image, "boxes": boxes, "labels": torch.tensor([1, 2])}, dx, dy,
                         min_visibility=0.0, min_size=0.0)
    assert torch.equal(out["image"], translated(image, dx, dy))
    if abs(dx) >= 20 or abs(dy) >= 14:  # nothing left in view: v2's crop pads oddly there, the hand oracle holds
        assert out["boxes"].shape == (0, 4)
        return
    assert torch.equal(out["image"], TF.crop(image, -dy, -dx, 14, 20))
    bb = TF.crop(tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(14, 20)), -dy, -dx, 14, 20)
    want = torch.as_tensor(bb).clone()
    want[:, 0::2] = want[:, 0::2].clamp(0, 20)
    want[:, 1::2] = want[:, 1::2].clamp(0, 14)
    alive = (want[:, 2] > want[:, 0]) & (want[:, 3] > want[:, 1])
    assert torch.equal(out["boxes"], want[alive])
    assert out["labels"].tolist() == torch.tensor([1, 2])[alive].tolist()


def test_random_shift_batch_equals_per_image_translation():
    g = torch.Generator().manual_seed(3)
    images = torch.rand(6, 2, 9, 11, generator=g, dtype=torch.float64)
    k, fill = 3, -0.4242
    got = A.random_shift(images, k, torch.Generator().manual_seed(11), fill=fill)
    off = torch.randint(0, 2 * k + 1, (2, 6), generator=torch.Generator().manual_seed(11))  # the documented draw
    for i in range(6):
        dy, dx = k - int(off[0, i]), k - int(off[1, i])
        assert torch.equal(got[i], translated(images[i], dx, dy, fill)), i
    assert got.dtype == images.dtype and got.shape == images.shape
    zero = A.random_shift(images, np.int64(0), None)
    assert torch.equal(zero, images) and zero is not images


def test_random_shift_transform_moves_boxes_with_content():
    image = torch.zeros(1, 24, 24)
    image[0, 5:12, 8:15] = 1.0  # the object: box (8, 5, 15, 12)
    sample = {"image": image, "boxes": torch.tensor([[8.0, 5.0, 15.0, 12.0]]), "labels": torch.tensor([0])}
    t = A.create("shift", max_shift=4)
    assert isinstance(t, A.RandomShift)
    seen = set()
    for seed in range(12):
        out = t(sample, torch.Generator().manual_seed(seed))
        ys, xs = out["image"][0].nonzero(as_tuple=True)
        assert out["boxes"].tolist() == [[xs.min().item(), ys.min().item(), xs.max().item() + 1.0,
                                          ys.max().item() + 1.0]]
        dx, dy = xs.min().item() - 8, ys.min().item() - 5
        assert -4 <= dx <= 4 and -4 <= dy <= 4
        seen.add((dx, dy))
        again = t(sample, torch.Generator().manual_seed(seed))
        assert torch.equal(again["image"], out["image"])  # seeded: reproducible
    assert len(seen) > 3


def test_shift_bad_input():
    with pytest.raises(ValueError, match="max_shift"):
        A.RandomShift(max_shift=-1)
    with pytest.raises(TypeError, match="max_shift"):
        A.RandomShift(max_shift=1.5)
    with pytest.raises(ValueError, match=r"images must have shape \[B, C, H, W\]"):
        A.random_shift(torch.zeros(3, 4, 4), 1, None)
    with pytest.raises(ValueError, match="height and width >= 1"):
        A.random_shift(torch.zeros(2, 3, 0, 4), 1, None)
    with pytest.raises(TypeError, match="dx"):
        A.shift_sample({"image": torch.zeros(3, 4, 4)}, 0.5, 0)
