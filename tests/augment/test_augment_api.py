"""Bad input -> clear errors; Compose / RandomApply / OneOf; detection_collate; MixingDataset; registry."""

from __future__ import annotations

import pytest
import torch

from dlprimer import augment as A
from dlprimer.augment import functional as F


def good(h: int = 12, w: int = 14) -> dict:
    return {"image": torch.zeros(3, h, w, dtype=torch.uint8), "boxes": torch.tensor([[1.0, 1.0, 6.0, 5.0]]),
            "labels": torch.tensor([2])}


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("image", [torch.zeros(12, 14), torch.zeros(1, 3, 12, 14), torch.zeros(14)])
def test_wrong_image_rank_raises(image):
    with pytest.raises(ValueError, match=r"image.*rank"):
        A.RandomHorizontalFlip()(dict(good(), image=image))
    if image.ndim < 3:
        with pytest.raises(ValueError, match=r"image.*rank"):
            F.hflip(image)


@pytest.mark.parametrize("dtype", [torch.int32, torch.bool, torch.int64])
def test_wrong_image_dtype_raises(dtype):
    with pytest.raises(ValueError, match=r"dtype uint8 or a floating"):
        A.ColorJitter()(dict(good(), image=torch.zeros(3, 12, 14, dtype=dtype)))
    with pytest.raises(ValueError, match=r"dtype uint8 or a floating"):
        F.adjust_brightness(torch.zeros(3, 4, 4, dtype=dtype), 1.0)


@pytest.mark.parametrize("boxes", [[[1.0, 1.0, 15.0, 5.0]], [[-2.0, 1.0, 5.0, 5.0]], [[1.0, 1.0, 5.0, 13.0]]])
def test_boxes_outside_image_raise_in_sample_transforms(boxes):
    with pytest.raises(ValueError, match=r"inside the image"):
        A.RandomCrop()(dict(good(), boxes=torch.tensor(boxes)))


def test_malformed_boxes_raise():
    with pytest.raises(ValueError, match=r"x2 >= x1"):
        A.RandomHorizontalFlip()(dict(good(), boxes=torch.tensor([[5.0, 1.0, 2.0, 3.0]])))
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        F.hflip(torch.zeros(3, 4, 4), boxes=torch.zeros(3))
    with pytest.raises(ValueError, match=r"one row per box"):
        A.RandomHorizontalFlip()(dict(good(), labels=torch.tensor([1, 2])))
    with pytest.raises(ValueError, match=r"masks.*\[N, H, W\]"):
        A.RandomHorizontalFlip()(dict(good(), masks=torch.zeros(1, 3, 3, dtype=torch.bool)))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_probabilities_outside_unit_interval_raise(p):
    for build in (A.RandomHorizontalFlip, A.RandomVerticalFlip, A.RandomErasing, lambda p: A.RandomApply([], p=p),
                  lambda p: A.Cutout(p=p), lambda p: A.MixUp(p=p), lambda p: A.CopyPaste(p_instance=p),
                  lambda p: A.RandomCrop(min_visibility=p), lambda p: A.smooth_labels(torch.tensor([0]), 2, p)):
        with pytest.raises(ValueError, match=r">= 0 and <= 1"):
            build(p)


def test_empty_mosaic_input_raises():
    with pytest.raises(ValueError, match=r"empty"):
        A.Mosaic()([])
    with pytest.raises(ValueError, match=r"empty"):
        A.mosaic([], (32, 32), (16, 16), [1.0] * 4)
    with pytest.raises(ValueError, match=r"exactly 4"):
        A.Mosaic()([good(), good()])
    with pytest.raises(ValueError, match=r"center"):
        A.mosaic([good()] * 4, (32, 32), (0, 16), [1.0] * 4)


def test_other_bad_arguments_raise():
    img = torch.zeros(3, 6, 6, dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"hue_factor"):
        F.adjust_hue(img, 0.7)
    with pytest.raises(ValueError, match=r"brightness_factor"):
        F.adjust_brightness(img, -1.0)
    with pytest.raises(ValueError, match=r"1 or 3 channels"):
        F.adjust_saturation(torch.zeros(4, 6, 6), 1.0)
    with pytest.raises(ValueError, match=r"interpolation"):
        F.rotate(img, 10.0, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"size"):
        F.resize(img, [0, 4])
    with pytest.raises(ValueError, match=r"height and width"):
        F.crop(img, 0, 0, 0, 4)
    with pytest.raises(ValueError, match=r"area"):
        A.RandomCrop(area=(0.6, 1.2))
    with pytest.raises(ValueError, match=r"unknown augmentation"):
        A.create("nope")
    with pytest.raises(ValueError, match=r"targets must be \[B, K\]"):
        A.mixup(torch.zeros(2, 3, 4, 4), torch.zeros(3, 2), 0.5)
    with pytest.raises(ValueError, match=r"rank 4"):
        A.CutMix(num_classes=2)(torch.zeros(3, 4, 4), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match=r"labels must lie in"):
        A.smooth_labels(torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match=r"same shape"):
        A.mixup_samples(good(), good(10, 10), 0.5)
    with pytest.raises(TypeError, match=r"dict"):
        A.RandomHorizontalFlip()([1, 2])


# ------------------------------------------------------------------------------------- composition
def test_random_apply_and_one_of():
    s = good()
    flip = A.RandomHorizontalFlip(p=1.0)
    assert torch.equal(A.RandomApply(flip, p=0.0)(s)["boxes"], s["boxes"])
    assert torch.equal(A.RandomApply([flip], p=1.0)(s)["boxes"], flip(s)["boxes"])
    vflip = A.RandomVerticalFlip(p=1.0)
    chosen = A.OneOf([flip, vflip], weights=[0.0, 1.0])(s, torch.Generator().manual_seed(0))
    assert torch.equal(chosen["boxes"], vflip(s)["boxes"])
    picks = {
        tuple(A.OneOf([flip, vflip])(s, torch.Generator().manual_seed(k))["boxes"][0].tolist()) for k in range(20)
    }
    assert picks == {tuple(flip(s)["boxes"][0].tolist()), tuple(vflip(s)["boxes"][0].tolist())}
    # RandomApply with p = 0.3 applies about 30 % of the time (binomial, 400 draws, 5 sigma)
    g = torch.Generator().manual_seed(0)
    hits = sum(not torch.equal(A.RandomApply(flip, p=0.3)(s, g)["boxes"], s["boxes"]) for _ in range(400))
    assert abs(hits - 120) < 5 * (400 * 0.3 * 0.7) ** 0.5
    with pytest.raises(ValueError, match=r"weights"):
        A.OneOf([flip, vflip], weights=[1.0])


def test_bare_image_tensor_in_and_out():
    img = torch.arange(12, dtype=torch.float32).view(1, 3, 4) / 12
    out = A.RandomHorizontalFlip(p=1.0)(img)
    assert isinstance(out, torch.Tensor) and torch.equal(out, img.flip(-1))


# ---------------------------------------------------------------------------------- collate / dataset
def test_detection_collate_handles_different_box_counts():
    a = good()
    b = {"image": torch.ones(3, 12, 14, dtype=torch.uint8), "boxes": torch.zeros((0, 4)),
         "labels": torch.zeros(0, dtype=torch.long)}
    images, targets = A.detection_collate([a, b])
    assert images.shape == (2, 3, 12, 14) and torch.equal(images[1], b["image"])
    assert [t["boxes"].shape[0] for t in targets] == [1, 0]
    images, targets = A.detection_collate([a, (torch.zeros(3, 5, 5, dtype=torch.uint8), {"boxes": torch.zeros(2, 4)})])
    assert isinstance(images, list) and images[1].shape == (3, 5, 5) and targets[1]["boxes"].shape == (2, 4)
    loader = torch.utils.data.DataLoader([a, b, a], batch_size=3, collate_fn=A.detection_collate)
    images, targets = next(iter(loader))
    assert images.shape == (3, 3, 12, 14) and len(targets) == 3
    with pytest.raises(ValueError, match=r"non-empty"):
        A.detection_collate([])


def test_mixing_dataset_is_reproducible_and_draws_extra_samples():
    base = [dict(good(), labels=torch.tensor([k]), image=torch.full((3, 12, 14), k, dtype=torch.uint8))
            for k in range(6)]
    ds = A.MixingDataset(base, mixes=A.Mosaic((24, 24), min_visibility=0.0, min_size=0.0),
                         transform=A.Compose([A.RandomHorizontalFlip()]), seed=3)
    a, b = ds[2], ds[2]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["boxes"], b["boxes"])
    assert a["image"].shape == (3, 24, 24)
    assert 2 in a["labels"].tolist() or 2 in a["image"].unique().tolist()  # the primary sample is in it
    ds.set_epoch(1)
    c = ds[2]
    assert not torch.equal(a["image"], c["image"])
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=A.detection_collate)
    images, targets = next(iter(loader))
    assert images.shape == (2, 3, 24, 24) and len(targets) == 2
    with pytest.raises(ValueError, match=r"empty"):
        A.MixingDataset([])
    with pytest.raises(IndexError):
        ds[6]


def test_registry_lists_every_augmentation_of_the_notes():
    names = set(A.list_augmentations())
    assert {"scale", "crop", "hflip", "vflip", "rotate", "color", "noise", "erase", "cutout", "mosaic", "mixup",
            "copy_paste", "affine"} <= names


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match=r"interpolation"):
        A.RandomRotation(10, interpolation="cubic")
    with pytest.raises(ValueError, match=r"interpolation"):
        A.Resize((8, 8), interpolation="area")
    with pytest.raises(ValueError, match=r"degrees"):
        A.RandomRotation(-5)
    with pytest.raises(ValueError, match=r"hue"):
        A.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match=r"brightness"):
        A.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match=r"value"):
        A.RandomErasing(value="noise")
    with pytest.raises(ValueError, match=r"n_holes"):
        A.Cutout(n_holes=0)
    with pytest.raises(ValueError, match=r"alpha"):
        A.MixUp(alpha=0.0)
    with pytest.raises(ValueError, match=r"output_size"):
        A.Mosaic(output_size=(1, 10))


def test_multi_sample_functions_validate_their_samples():
    outside = dict(good(), boxes=torch.tensor([[1.0, 1.0, 30.0, 5.0]]))
    with pytest.raises(ValueError, match=r"src\['boxes'\].*inside"):
        A.copy_paste(good(), outside, torch.tensor([0]))
    with pytest.raises(ValueError, match=r"b\['boxes'\].*inside"):
        A.mixup_samples(good(), outside, 0.5)
    with pytest.raises(ValueError, match=r"samples\[2\]\['boxes'\].*inside"):
        A.Mosaic()([good(), good(), outside, good()])
