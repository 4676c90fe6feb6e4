"""Issue #14 item 7: op edge cases, each against torchvision where torchvision has the op."""

from __future__ import annotations

import pytest
import torch
import torchvision.ops as tvo

from dlprimer import augment as A
from dlprimer.augment import functional as F
from dlprimer.augment.registry import MULTI_SAMPLE
from dlprimer.boxes import (
    batched_nms,
    box_area,
    box_iou,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
    nms,
    roi_align,
    roi_pool,
)
from dlprimer.nn.iou_losses import ciou_loss, diou_loss, giou_loss, iou_loss

INF = float("inf")


def _feature(seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, 12, 16, generator=torch.Generator().manual_seed(seed))


ROIS = torch.tensor([[0, 1.0, 1.0, 9.0, 7.0], [1, 0.5, 2.0, 15.0, 11.5], [0, 3.0, 4.0, 3.5, 4.2]])


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("input_dtype", [torch.float32, torch.bfloat16])
def test_roi_align_under_cpu_autocast_equals_torchvision(aligned, input_dtype):
    x = _feature().to(input_dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = tvo.roi_align(x, ROIS, (3, 4), 0.5, 2, aligned)
        got = roi_align(x, ROIS, (3, 4), 0.5, 2, aligned)
        if input_dtype == torch.float32:  # torchvision has no CPU autocast rule for roi_pool: bf16 fails there
            want_pool, got_pool = tvo.roi_pool(x, ROIS, (3, 4), 0.5), roi_pool(x, ROIS, (3, 4), 0.5)
            assert got_pool.dtype == want_pool.dtype
            torch.testing.assert_close(got_pool, want_pool, rtol=0, atol=0)
    assert got.dtype == want.dtype == input_dtype
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6 if input_dtype == torch.float32 else 0)


@pytest.mark.parametrize("sampling_ratio", [-1, 2])
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("bad", [1e30, -1e30, INF, -INF])
def test_rois_with_huge_or_infinite_coordinates_behave_as_torchvision(bad, aligned, sampling_ratio):
    x = _feature(1)
    rois = ROIS.clone().repeat(4, 1)
    rois[0, 3] = bad  # x2
    rois[1, 4] = bad  # y2
    rois[2, 1] = bad  # x1
    rois[3, 1:] = bad  # everything
    got = roi_align(x, rois, 2, 1.0, sampling_ratio, aligned)
    assert torch.isfinite(got).all()
    if sampling_ratio > 0 and abs(bad) == INF:
        # torchvision's kernel converts NaN sample positions to int (undefined behaviour; it crashes the
        # process here), so there is no oracle: ours gives the NaN samples weight 0
        return
    want = tvo.roi_align(x, rois, 2, 1.0, sampling_ratio, aligned)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6, equal_nan=True)
    torch.testing.assert_close(roi_pool(x, rois, 2, 1.0), tvo.roi_pool(x, rois, 2, 1.0), rtol=0, atol=0)


@pytest.mark.parametrize(
    "boxes,scores,idxs",
    [
        (torch.empty(0), torch.empty(0), torch.empty(0)),
        (torch.empty(0, 4), torch.empty(0), torch.empty(0, dtype=torch.long)),
        (torch.empty(0, 4), torch.empty(0), torch.empty(0)),
        (torch.empty(0, 4).double(), torch.empty(0).double(), torch.empty(0, dtype=torch.int32)),
    ],
)
def test_batched_nms_accepts_what_torchvision_accepts_when_empty(boxes, scores, idxs):
    want = tvo.batched_nms(boxes, scores, idxs, 0.5)
    got = batched_nms(boxes, scores, idxs, 0.5)
    assert got.dtype == want.dtype == torch.int64 and got.shape == want.shape == (0,)


def test_empty_batched_nms_still_checks_types():
    with pytest.raises(TypeError, match="boxes must be a torch.Tensor"):
        batched_nms([], torch.empty(0), torch.empty(0), 0.5)
    with pytest.raises(TypeError, match="iou_threshold"):
        batched_nms(torch.empty(0), torch.empty(0), torch.empty(0), "0.5")


@pytest.mark.parametrize("bad", [INF, -INF, float("nan")])
def test_infinite_coordinates_rejected_like_nan(bad):
    b = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 5.0, 5.0]])
    b[1, 2 if bad > 0 else 0] = bad
    ok = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    for fn in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        with pytest.raises(ValueError, match="boxes1 contains NaN or inf"):
            fn(b, ok)
    for fn in (iou_loss, giou_loss, diou_loss, ciou_loss):
        with pytest.raises(ValueError, match="boxes2 contains NaN or inf"):
            fn(ok, b)
    with pytest.raises(ValueError, match="NaN or inf"):
        box_area(b)
    with pytest.raises(ValueError, match="NaN or inf"):
        nms(b, torch.tensor([0.5, 0.4]), 0.5)


HUGE = torch.tensor([[0.0, 0.0, 1e30, 1e30], [0.0, 0.0, 5e29, 1e30], [2e29, 1e29, 7e29, 9e29], [1.0, 1.0, 3.0, 3.0]])


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (box_iou, tvo.box_iou),
        (generalized_box_iou, tvo.generalized_box_iou),
        (distance_box_iou, tvo.distance_box_iou),
        (complete_box_iou, tvo.complete_box_iou),
    ],
)
def test_iou_family_correct_where_float32_areas_overflow(ours, theirs):
    """``[0, 0, 1e30, 1e30]`` is finite in float32 but its area is not: torchvision's float32 gives NaN;
    the oracle is torchvision in float64, cast to float32."""
    assert torch.isnan(tvo.box_iou(HUGE, HUGE)).any()  # the failure being fixed
    got = ours(HUGE, HUGE)
    want = theirs(HUGE.double(), HUGE.double()).float()
    assert got.dtype == torch.float32 and not torch.isnan(got).any()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    if ours in (box_iou, generalized_box_iou):  # hand-worked: half of the big square, enclosed by it
        assert got[0, 1].item() == pytest.approx(0.5, abs=1e-7)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (giou_loss, tvo.generalized_box_iou_loss),
        (diou_loss, tvo.distance_box_iou_loss),
        (ciou_loss, tvo.complete_box_iou_loss),
    ],
)
def test_iou_losses_correct_where_float32_areas_overflow(ours, theirs):
    pred, target = HUGE, HUGE.flip(0)
    pred = pred.clone().requires_grad_(True)
    got = ours(pred, target)
    want = theirs(HUGE.double(), HUGE.flip(0).double()).float()
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    got.sum().backward()
    assert torch.isfinite(pred.grad).all()
    plain = iou_loss(HUGE, HUGE.flip(0))
    torch.testing.assert_close(plain, 1 - tvo.box_iou(HUGE.double(), HUGE.flip(0).double()).diagonal().float())


# -------------------------------------------------------------------------------------------- 0x0 images
def _sample(h: int, w: int) -> dict:
    return {"image": torch.zeros(3, h, w, dtype=torch.uint8), "boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}


@pytest.mark.parametrize("name", [n for n in A.list_augmentations() if n not in MULTI_SAMPLE])
@pytest.mark.parametrize("hw", [(0, 0), (0, 5), (5, 0)])
def test_every_registered_transform_rejects_empty_images(name, hw):
    with pytest.raises(ValueError, match=r"must have height and width >= 1"):
        A.create(name)(_sample(*hw), torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "call",
    [
        lambda s: A.Resize((8, 8))(s),
        lambda s: A.RandomScale()(s),
        lambda s: A.Cutout()(s),
        lambda s: A.ColorJitter()(s),
        lambda s: A.RandomShift(2)(s),
        lambda s: F.resize(s["image"], [4, 4]),
        lambda s: F.hflip(s["image"]),
        lambda s: F.adjust_brightness(s["image"], 1.2),
        lambda s: F.rotate(s["image"], 10.0),
    ],
)
def test_named_transforms_reject_empty_images(call):
    with pytest.raises(ValueError, match=r"must have height and width >= 1, got 0x0"):
        call(_sample(0, 0))


# ------------------------------------------------------------------------------- colour range checks
@pytest.mark.parametrize(
    "call",
    [
        lambda im: A.ColorJitter(brightness=0.5)({"image": im}, torch.Generator().manual_seed(0)),
        lambda im: F.adjust_brightness(im, 1.2),
        lambda im: F.adjust_contrast(im, 0.8),
        lambda im: F.adjust_saturation(im, 0.8),
        lambda im: F.adjust_hue(im, 0.1),
        lambda im: F.gaussian_noise(im, 0.0, 0.1),
    ],
)
def test_colour_ops_reject_float_images_outside_unit_range(call):
    g = torch.Generator().manual_seed(2)
    in_range = torch.rand(3, 6, 6, generator=g)
    call(in_range)  # fine
    with pytest.raises(ValueError, match=r"float image with values in \[0, 255\]; colour operations need"):
        call((in_range * 255).round().index_fill_(1, torch.tensor([0]), 0.0).index_fill_(2, torch.tensor([0]), 255.0))
    with pytest.raises(ValueError, match="float image with values in"):
        call(in_range - 0.5)
