"""Invariants of the sample-level random transforms (Hypothesis) and their seeding."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from dlprimer import augment as A
from dlprimer.augment.registry import MULTI_SAMPLE

SINGLE = [n for n in A.list_augmentations() if n not in MULTI_SAMPLE]
MULTI = sorted(MULTI_SAMPLE)


def make_sample(seed: int, h: int, w: int, n: int, masks: bool, dtype: torch.dtype = torch.uint8) -> dict:
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)
    if dtype != torch.uint8:
        img = img.to(dtype) / 255.0
    xy = torch.rand(n, 2, 2, generator=g, dtype=torch.float64) * torch.tensor([w, h], dtype=torch.float64)
    boxes = torch.cat([xy.amin(1), xy.amax(1)], 1).float()  # [n, 4] inside, possibly tiny
    sample = {"image": img, "boxes": boxes, "labels": torch.arange(n, dtype=torch.int64)}
    if masks:
        sample["masks"] = A.rectangle_masks(boxes, (h, w))
    return sample


def assert_valid_output(out: dict) -> None:
    """Boxes inside the image, strictly positive width and height, per-box keys of equal length."""
    A.validate_sample(out)  # raises on boxes outside the image or mismatched per-box keys
    h, w = out["image"].shape[-2:]
    b = out.get("boxes", torch.zeros((0, 4)))
    assert bool((b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all())
    assert bool(((b[:, 2] - b[:, 0]) > 0).all() and ((b[:, 3] - b[:, 1]) > 0).all()), b
    for key in ("labels", "masks", "box_weights"):
        if key in out:
            assert out[key].shape[0] == b.shape[0]


sample_args = st.tuples(
    st.integers(0, 10_000), st.integers(8, 40), st.integers(8, 40), st.integers(0, 6), st.booleans(),
    st.sampled_from([torch.uint8, torch.float32]),
)


@pytest.mark.parametrize("name", SINGLE)
@settings(max_examples=25, deadline=None)
@given(args=sample_args)
def test_single_sample_transforms_keep_boxes_inside_and_non_degenerate(name, args):
    seed, h, w, n, masks, dtype = args
    sample = make_sample(seed, h, w, n, masks, dtype)
    out = A.create(name)(sample, torch.Generator().manual_seed(seed))
    assert out["image"].dtype == dtype and out["image"].shape[0] == 3
    assert_valid_output(out)


@pytest.mark.parametrize("name", MULTI)
@settings(max_examples=15, deadline=None)
@given(args=sample_args)
def test_multi_sample_transforms_keep_boxes_inside_and_non_degenerate(name, args):
    seed, h, w, n, masks, dtype = args
    t = A.create(name)
    samples = [make_sample(seed + k, h + 3 * k, w, n, masks, dtype) for k in range(t.num_samples)]
    out = t(samples, torch.Generator().manual_seed(seed))
    assert out["image"].dtype == dtype
    assert_valid_output(out)


@pytest.mark.parametrize("name", SINGLE + MULTI)
def test_same_seed_same_output(name):
    t = A.create(name)
    k = t.num_samples if name in MULTI_SAMPLE else 1
    samples = [make_sample(7 + i, 30, 26, 4, True) for i in range(k)]

    def run(seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)
        return t(samples, g) if name in MULTI_SAMPLE else t(samples[0], g)

    a, b = run(3), run(3)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_pipeline_same_seed_same_output_and_inputs_untouched():
    pipe = A.Compose([A.RandomScale(), A.RandomCrop(), A.RandomHorizontalFlip(), A.RandomRotation(20),
                      A.ColorJitter(), A.GaussianNoise(), A.RandomErasing(), A.Cutout()])
    s = make_sample(0, 33, 41, 5, True)
    before = {k: v.clone() for k, v in s.items()}
    a = pipe(s, torch.Generator().manual_seed(11))
    b = pipe(s, torch.Generator().manual_seed(11))
    c = pipe(s, torch.Generator().manual_seed(12))
    for key in a:
        assert torch.equal(a[key], b[key])
    assert not (a["image"].shape == c["image"].shape and torch.equal(a["image"], c["image"]))
    for key in s:
        assert torch.equal(s[key], before[key]), f"input {key} was modified"


@settings(max_examples=40, deadline=None)
@given(args=sample_args)
def test_flipping_twice_is_identity(args):
    seed, h, w, n, masks, dtype = args
    s = make_sample(seed, h, w, n, masks, dtype)
    for t in (A.RandomHorizontalFlip(p=1.0), A.RandomVerticalFlip(p=1.0)):
        twice = t(t(s))
        for key in s:  # pixels, masks, labels exactly; boxes up to the rounding of W - (W - x)
            if key == "boxes":
                assert torch.allclose(twice[key], s[key], rtol=0, atol=4e-6 * max(h, w)), key
            else:
                assert torch.equal(twice[key], s[key]), key
    for fn in (A.functional.hflip, A.functional.vflip):
        img, boxes = fn(*fn(s["image"], s["boxes"].double()))
        assert torch.equal(img, s["image"])
        assert torch.allclose(boxes, s["boxes"].double(), rtol=0, atol=1e-12)


def test_flip_matches_hand_worked_box():
    s = {"image": torch.zeros(3, 10, 20, dtype=torch.uint8), "boxes": torch.tensor([[2.0, 1.0, 5.0, 4.0]])}
    assert A.RandomHorizontalFlip(p=1.0)(s)["boxes"].tolist() == [[15.0, 1.0, 18.0, 4.0]]
    assert A.RandomVerticalFlip(p=1.0)(s)["boxes"].tolist() == [[2.0, 6.0, 5.0, 9.0]]


def test_crop_drop_rule_hand_worked():
    """A 10 x 10 box with 4 columns inside the window: visible fraction 0.4."""
    s = {"image": torch.zeros(3, 50, 50, dtype=torch.uint8), "boxes": torch.tensor([[16.0, 10.0, 26.0, 20.0]]),
         "labels": torch.tensor([3])}
    kept = A.crop_sample(s, 0, 0, 50, 20, min_visibility=0.39)
    assert kept["boxes"].tolist() == [[16.0, 10.0, 20.0, 20.0]] and kept["labels"].tolist() == [3]
    dropped = A.crop_sample(s, 0, 0, 50, 20, min_visibility=0.41)
    assert dropped["boxes"].shape == (0, 4) and dropped["labels"].shape == (0,)
    thin = A.crop_sample(s, 0, 0, 50, 17, min_visibility=0.0, min_size=2.0)  # 1 px wide -> dropped
    assert thin["boxes"].shape == (0, 4)


def test_rotation_boxes_from_masks_are_tight():
    """With masks the box is the tight box of the rotated mask (oracle: torchvision rotates the mask)."""
    s = make_sample(5, 40, 40, 3, True)
    s["boxes"] = torch.tensor([[5.0, 6.0, 20.0, 14.0], [22.0, 20.0, 35.0, 33.0], [10.0, 25.0, 18.0, 38.0]])
    s["masks"] = A.rectangle_masks(s["boxes"], (40, 40))
    out = A.warp_sample(s, angle=30.0, min_visibility=0.0, min_size=0.0)
    ref_masks = TF.rotate(s["masks"].to(torch.uint8)[:, None], 30.0)[:, 0].bool()
    assert torch.equal(out["masks"].bool(), ref_masks)
    for k in range(3):
        ys, xs = ref_masks[k].nonzero(as_tuple=True)
        expect = [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]
        assert out["boxes"][k].tolist() == [float(v) for v in expect]
    # without masks: the hull of the rotated corners (torchvision's rotate of BoundingBoxes)
    no_masks = {k: v for k, v in s.items() if k != "masks"}
    hull = A.warp_sample(no_masks, angle=30.0, min_visibility=0.0, min_size=0.0)
    bb = tv_tensors.BoundingBoxes(s["boxes"], format="XYXY", canvas_size=(40, 40))
    assert torch.allclose(hull["boxes"], TF.rotate(bb, 30.0).as_subclass(torch.Tensor), atol=1e-5)


def test_scale_boxes_follow_size_ratio():
    s = make_sample(1, 20, 30, 3, False)
    out = A.resize_sample(s, (50, 45))
    ratio = torch.tensor([45 / 30, 50 / 20, 45 / 30, 50 / 20])
    assert out["image"].shape == (3, 50, 45)
    keep = (s["boxes"][:, 2] > s["boxes"][:, 0]) & (s["boxes"][:, 3] > s["boxes"][:, 1])
    assert torch.allclose(out["boxes"], (s["boxes"] * ratio)[keep], atol=1e-5)


def test_color_jitter_with_fixed_factor_equals_v2():
    s = make_sample(2, 16, 16, 2, False)
    out = A.ColorJitter(brightness=(1.3, 1.3), contrast=None, saturation=None, hue=None)(s)
    assert torch.equal(out["image"], TF.adjust_brightness(s["image"], 1.3))
    assert torch.equal(out["boxes"], s["boxes"])


def test_random_erasing_changes_only_one_rectangle():
    s = {"image": torch.zeros(3, 40, 40, dtype=torch.uint8)}
    out = A.RandomErasing(p=1.0, value=200.0)(s, torch.Generator().manual_seed(0))
    changed = (out["image"] != 0).any(dim=0)  # [H, W]
    ys, xs = changed.nonzero(as_tuple=True)
    area = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    assert int(changed.sum()) == int(area)  # one filled rectangle
    assert 0.02 * 1600 * 0.5 <= int(area) <= 0.33 * 1600 * 1.5
    cut = A.Cutout(size=8, fill=50.0)({"image": torch.zeros(3, 40, 40)}, torch.Generator().manual_seed(1))
    hole = (cut["image"] != 0).any(dim=0)
    ys, xs = hole.nonzero(as_tuple=True)
    assert (ys.max() - ys.min() + 1) <= 8 and (xs.max() - xs.min() + 1) <= 8  # a square, clipped at borders


def test_erasing_drops_occluded_boxes():
    s = {"image": torch.zeros(3, 20, 20), "boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [12.0, 12.0, 20.0, 20.0]]),
         "labels": torch.tensor([1, 2])}
    out = A.erase_sample(dict(s), 0, 0, 10, 8, 1.0, min_visibility=0.3)  # box 0 is 80 % covered
    assert out["labels"].tolist() == [2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", SINGLE + MULTI)
def test_cuda_matches_cpu_for_the_same_seed(name):
    """Parameters are drawn on the CPU, so one seed gives the same transform on both devices."""
    t = A.create(name)
    k = t.num_samples if name in MULTI_SAMPLE else 1
    cpu = [make_sample(20 + i, 36, 44, 5, True) for i in range(k)]
    gpu = [{key: v.cuda() for key, v in s.items()} for s in cpu]

    def run(samples):
        g = torch.Generator().manual_seed(4)
        return t(samples, g) if name in MULTI_SAMPLE else t(samples[0], g)

    a, b = run(cpu), run(gpu)
    assert b["image"].device.type == "cuda" and a["image"].shape == b["image"].shape
    diff = (a["image"].int() - b["image"].cpu().int()).abs()
    assert float((diff > 1).float().mean()) < 0.01, f"{name}: {float((diff > 1).float().mean())}"
    assert a["boxes"].shape == b["boxes"].shape
    assert torch.allclose(a["boxes"], b["boxes"].cpu(), atol=1.0)
    assert_valid_output({key: v.cpu() for key, v in b.items()})


@pytest.mark.parametrize("name", SINGLE)
def test_degenerate_input_boxes_are_never_emitted(name):
    """A zero-width input box and one poking out by the validation tolerance: dropped / clipped by all."""
    s = {"image": torch.zeros(3, 20, 20, dtype=torch.uint8),
         "boxes": torch.tensor([[3.0, 3.0, 3.0, 9.0], [-0.0005, 0.0, 12.0, 20.0004]]), "labels": torch.tensor([1, 2])}
    out = A.create(name)(s, torch.Generator().manual_seed(0))
    assert 1 not in out["labels"].tolist()
    assert_valid_output(out)


@pytest.mark.parametrize("name", SINGLE + MULTI)
@pytest.mark.parametrize("hw", [(1, 1), (1, 5), (2, 2), (4, 1)])
def test_tiny_images_do_not_break_anything(name, hw):
    """Tiny images (torch's uint8 anti-aliased resize asserts on a 1 x 1 output; we avoid that kernel there)."""
    h, w = hw
    t = A.create(name)
    k = t.num_samples if name in MULTI_SAMPLE else 1
    samples = [{"image": torch.full((3, h, w), 50 * (i + 1), dtype=torch.uint8),
                "boxes": torch.tensor([[0.0, 0.0, float(w), float(h)]]), "labels": torch.tensor([i])}
               for i in range(k)]
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        out = t(samples, g) if name in MULTI_SAMPLE else t(samples[0], g)
        assert_valid_output(out)
    assert A.functional.resize(torch.zeros(3, 5, 4, dtype=torch.uint8), [1, 1]).shape == (3, 1, 1)
