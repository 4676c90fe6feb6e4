"""dlprimer.augment.functional against torchvision.transforms.v2.functional (the oracle), boxes included."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF  # the oracle: a test dependency, never skipped
from torchvision import tv_tensors

from dlprimer.augment import functional as F

SHAPES = [(3, 17, 23), (3, 32, 32), (1, 20, 13), (3, 9, 40)]


def _data(shape: tuple[int, int, int], seed: int):
    g = torch.Generator().manual_seed(seed)
    c, h, w = shape
    img = torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)
    imgf = torch.rand(shape, generator=g, dtype=torch.float64)
    xy = torch.rand(7, 2, 2, generator=g, dtype=torch.float64) * torch.tensor([w, h], dtype=torch.float64)
    boxes = torch.cat([xy.amin(1), xy.amax(1)], 1)  # [7, 4] inside the image
    bb = tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(h, w))
    return img, imgf, boxes, bb


def _max_diff(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    assert ours.shape == theirs.shape, f"shape ours {tuple(ours.shape)} vs theirs {tuple(theirs.shape)}"
    assert ours.dtype == theirs.dtype, f"dtype ours {ours.dtype} vs theirs {theirs.dtype}"
    if ours.numel() == 0:
        return 0.0
    return float((ours.double() - theirs.double()).abs().max())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["hflip", "vflip"])
def test_flips_equal_v2_exactly(shape, name):
    img, imgf, boxes, bb = _data(shape, 1)
    ref = {"hflip": TF.horizontal_flip, "vflip": TF.vertical_flip}[name]
    fn = getattr(F, name)
    for im in (img, imgf):
        out, ob = fn(im, boxes)
        assert _max_diff(out, ref(im)) == 0
        assert _max_diff(ob, ref(bb).as_subclass(torch.Tensor)) == 0
    assert torch.equal(fn(img), ref(img))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("window", [(0, 0, 5, 6), (2, 3, 10, 9), (-3, 4, 12, 30), (5, -6, 40, 8)])
def test_crop_equals_v2_exactly(shape, window):
    img, imgf, boxes, bb = _data(shape, 2)
    for im in (img, imgf):
        out, ob = F.crop(im, *window, boxes=boxes)
        assert _max_diff(out, TF.crop(im, *window)) == 0
        assert _max_diff(ob, TF.crop(bb, *window).as_subclass(torch.Tensor)) == 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("factor", [0.0, 0.35, 1.0, 1.7, 3.0])
def test_brightness_contrast_equal_v2_exactly_on_uint8(shape, factor):
    img, imgf, _, _ = _data(shape, 3)
    for ours, theirs in ((F.adjust_brightness, TF.adjust_brightness), (F.adjust_contrast, TF.adjust_contrast)):
        assert _max_diff(ours(img, factor), theirs(img, factor)) == 0
        assert _max_diff(ours(imgf, factor), theirs(imgf, factor)) <= 1e-12


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 2.2])
def test_saturation_within_one_grey_level(shape, factor):
    img, imgf, _, _ = _data(shape, 4)
    assert _max_diff(F.adjust_saturation(img, factor), TF.adjust_saturation(img, factor)) <= 1
    assert _max_diff(F.adjust_saturation(imgf, factor), TF.adjust_saturation(imgf, factor)) <= 1e-5


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("hue", [-0.5, -0.27, 0.0, 0.1, 0.33, 0.5])
def test_hue_within_one_grey_level(shape, hue):
    img, imgf, _, _ = _data(shape, 5)
    assert _max_diff(F.adjust_hue(img, hue), TF.adjust_hue(img, hue)) <= 1
    f32 = imgf.float()
    assert _max_diff(F.adjust_hue(f32, hue), TF.adjust_hue(f32, hue)) <= 1e-5
    # float64: v2 computes in float32, ours in float64: still within 1e-5
    assert _max_diff(F.adjust_hue(imgf, hue), TF.adjust_hue(imgf, hue)) <= 1e-5


def test_hue_on_grey_pixels_and_extremes():
    """Pure colours and greys, the cases where the hexcone sector logic is most fragile."""
    vals = torch.tensor([0, 255, 128, 17], dtype=torch.uint8)
    grid = torch.cartesian_prod(vals, vals, vals).T.reshape(3, 8, 8)  # all 64 combinations
    for hue in (-0.5, -1 / 6, 1 / 3, 0.5):
        assert _max_diff(F.adjust_hue(grid, hue), TF.adjust_hue(grid, hue)) <= 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [[31, 12], [8, 8], 15, [6]])
def test_resize_within_one_grey_level(shape, size):
    img, imgf, boxes, bb = _data(shape, 6)
    out, ob = F.resize(img, size, boxes=boxes)
    assert _max_diff(out, TF.resize(img, size)) <= 1
    outf = F.resize(imgf, size)
    assert _max_diff(outf, TF.resize(imgf, size)) <= 1e-5
    assert torch.allclose(ob, TF.resize(bb, size).as_subclass(torch.Tensor), rtol=1e-6, atol=1e-5)
    near = F.resize(img, size, interpolation="nearest")
    assert _max_diff(near, TF.resize(img, size, interpolation=TF.InterpolationMode.NEAREST)) == 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("angle", [0.0, 90.0, 180.0, 270.0, 33.3, -71.0, 405.0])
@pytest.mark.parametrize("expand", [False, True])
def test_rotate_within_one_grey_level(shape, angle, expand):
    img, imgf, boxes, bb = _data(shape, 7)
    for interp in ("nearest", "bilinear"):
        mode = TF.InterpolationMode(interp)
        out, ob = F.rotate(img, angle, boxes=boxes, interpolation=interp, expand=expand)
        assert _max_diff(out, TF.rotate(img, angle, interpolation=mode, expand=expand)) <= 1
        outf = F.rotate(imgf, angle, interpolation=interp, expand=expand)
        assert _max_diff(outf, TF.rotate(imgf, angle, interpolation=mode, expand=expand)) <= 1e-5
    ref = TF.rotate(bb, angle, expand=expand).as_subclass(torch.Tensor)
    # v2 derives the expanded canvas of boxes from a differently-centred matrix, so it can be one pixel
    # larger than v2's own rotated image; ours is the image's canvas: compare after clamping to it.
    oh, ow = out.shape[-2:]
    ref = ref.clone()
    ref[:, 0::2], ref[:, 1::2] = ref[:, 0::2].clamp(0, ow), ref[:, 1::2].clamp(0, oh)
    assert torch.allclose(ob, ref, atol=1e-6)


def test_rotate_with_center_and_fill():
    img, imgf, boxes, bb = _data((3, 21, 30), 8)
    kw = {"center": [5.0, 7.0], "fill": [10.0, 200.0, 30.0]}
    out, ob = F.rotate(img, 25.0, boxes=boxes, interpolation="bilinear", **kw)
    ref = TF.rotate(img, 25.0, interpolation=TF.InterpolationMode.BILINEAR, **kw)
    assert _max_diff(out, ref) <= 1
    refb = TF.rotate(bb, 25.0, center=kw["center"]).as_subclass(torch.Tensor)
    assert torch.allclose(ob, refb, atol=1e-6)


@pytest.mark.parametrize("params", [(20.0, [3, -2], 1.2, [10.0, 5.0]), (-45.0, [0, 0], 0.7, [0.0, 0.0])])
def test_affine_within_one_grey_level(params):
    img, imgf, boxes, bb = _data((3, 25, 31), 9)
    angle, translate, scale, shear = params
    out, ob = F.affine(img, angle, translate, scale, shear, boxes=boxes, fill=7.0)
    assert _max_diff(out, TF.affine(img, angle, translate, scale, shear, fill=7.0)) <= 1
    outf = F.affine(imgf, angle, translate, scale, shear, interpolation="bilinear")
    reff = TF.affine(imgf, angle, translate, scale, shear, interpolation=TF.InterpolationMode.BILINEAR)
    assert _max_diff(outf, reff) <= 1e-5
    refb = TF.affine(bb, angle, translate, scale, shear).as_subclass(torch.Tensor)
    assert torch.allclose(ob, refb, atol=1e-6)


@pytest.mark.parametrize("window", [(0, 0, 3, 4), (5, 2, 7, 9), (10, 15, 30, 30)])
def test_erase_equals_v2_exactly(window):
    img, imgf, _, _ = _data((3, 17, 23), 10)
    i, j, h, w = window
    g = torch.Generator().manual_seed(0)
    v = torch.rand(3, 1, 1, generator=g) * 255
    assert _max_diff(F.erase(img, i, j, h, w, v), TF.erase(img, i, j, h, w, v)) == 0
    vf = torch.rand(3, min(h, 17 - i), min(w, 23 - j), generator=g, dtype=torch.float64)
    assert _max_diff(F.erase(imgf, i, j, h, w, vf), TF.erase(imgf, i, j, h, w, vf)) == 0


def test_gaussian_noise_equals_v2_with_same_global_seed():
    img, imgf, _, _ = _data((3, 16, 16), 11)
    for im in (img, imgf.float()):
        torch.manual_seed(123)
        ours = F.gaussian_noise(im, mean=0.02, sigma=0.1)
        torch.manual_seed(123)
        theirs = TF.gaussian_noise(im, mean=0.02, sigma=0.1)
        assert _max_diff(ours, theirs) == 0


def test_batched_images_match_v2():
    g = torch.Generator().manual_seed(12)
    batch = torch.randint(0, 256, (2, 3, 11, 14), dtype=torch.uint8, generator=g)
    assert _max_diff(F.adjust_contrast(batch, 0.6), TF.adjust_contrast(batch, 0.6)) == 0
    assert _max_diff(F.rotate(batch, 17.0), TF.rotate(batch, 17.0)) <= 1


def test_empty_boxes_pass_through():
    img = torch.zeros(3, 8, 9, dtype=torch.uint8)
    empty = torch.zeros((0, 4))
    for out in (F.hflip(img, empty), F.crop(img, 1, 1, 4, 4, boxes=empty), F.rotate(img, 30.0, boxes=empty),
                F.resize(img, [4, 5], boxes=empty)):
        assert out[1].shape == (0, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    img, imgf, boxes, _ = _data((3, 24, 30), 13)
    dev = torch.device("cuda")
    for fn in (lambda x, b: F.rotate(x, 31.0, boxes=b), lambda x, b: F.resize(x, [17, 40], boxes=b),
               lambda x, b: F.crop(x, 2, 3, 10, 12, boxes=b)):
        out_cpu, b_cpu = fn(imgf, boxes)
        out_gpu, b_gpu = fn(imgf.to(dev), boxes.to(dev))
        assert torch.allclose(out_gpu.cpu(), out_cpu, atol=1e-5)
        assert torch.allclose(b_gpu.cpu(), b_cpu, atol=1e-6)
    for fn in (F.adjust_hue, F.adjust_saturation, F.adjust_contrast, F.adjust_brightness):
        assert (fn(img.to(dev), 0.3).cpu().int() - fn(img, 0.3).int()).abs().max() <= 1


def test_resize_max_size_and_integer_boxes_match_v2():
    img, _, boxes, _ = _data((3, 37, 52), 14)
    ib = boxes.round().long()
    ibb = tv_tensors.BoundingBoxes(ib, format="XYXY", canvas_size=(37, 52))
    out, ob = F.resize(img, 30, boxes=ib, max_size=40)
    assert _max_diff(out, TF.resize(img, 30, max_size=40)) <= 1
    assert _max_diff(ob, TF.resize(ibb, 30, max_size=40).as_subclass(torch.Tensor)) == 0
    for angle in (30.0, 200.0):
        assert _max_diff(F.rotate(img, angle, boxes=ib)[1], TF.rotate(ibb, angle).as_subclass(torch.Tensor)) == 0
    ref = TF.crop(ibb, -2, 3, 20, 60).as_subclass(torch.Tensor)
    assert _max_diff(F.crop(img, -2, 3, 20, 60, boxes=ib)[1], ref) == 0
    assert F.horizontal_flip is F.hflip and F.vertical_flip is F.vflip


@pytest.mark.parametrize("shape", [(2, 2, 2), (4, 1, 1), (2, 3, 2, 2)])
def test_erase_value_that_does_not_fit_the_region_is_a_value_error(shape: tuple[int, ...]) -> None:
    """Regression: a ``v`` that does not broadcast to the erased region (v2 raises a bare RuntimeError)."""
    img = torch.zeros(3, 8, 8, dtype=torch.uint8)
    with pytest.raises(RuntimeError):
        TF.erase(img, 0, 0, 2, 2, torch.zeros(shape, dtype=torch.uint8))
    with pytest.raises(ValueError, match="v must be a number or a tensor broadcastable"):
        F.erase(img, 0, 0, 2, 2, torch.zeros(shape, dtype=torch.uint8))


@pytest.mark.parametrize("hw", [(10, 23), (23, 10), (12, 12), (5, 40)])
@pytest.mark.parametrize("max_size", [7, 15, 40])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_resize_size_none_with_max_size_equals_v2(hw: tuple[int, int], max_size: int, dtype: torch.dtype) -> None:
    """Regression: v2 accepts ``size=None`` with ``max_size`` (the longer side becomes ``max_size``)."""
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, *hw), generator=g, dtype=torch.uint8)
    img = img if dtype == torch.uint8 else img.float() / 255
    boxes = torch.tensor([[1.0, 2.0, 4.0, 5.0], [0.0, 0.0, hw[1], hw[0]]])
    short, long = min(hw), max(hw)
    if int(max_size * short / long) < 1:  # v2 fails inside interpolate; ours names the argument
        with pytest.raises(ValueError, match="max_size"):
            F.resize(img, None, max_size=max_size)
        return
    expected = TF.resize(img, None, max_size=max_size)
    expected_boxes = TF.resize(
        tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=hw), None, max_size=max_size
    ).as_subclass(torch.Tensor)
    got, got_boxes = F.resize(img, None, boxes=boxes, max_size=max_size)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert _max_diff(got, expected) <= (1 if dtype == torch.uint8 else 1e-5)
    torch.testing.assert_close(got_boxes, expected_boxes, rtol=0, atol=1e-5)


def test_resize_size_none_needs_max_size() -> None:
    with pytest.raises(ValueError, match="max_size must be a positive int when size is None"):
        F.resize(torch.zeros(3, 4, 4), None)
