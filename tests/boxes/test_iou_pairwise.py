"""Pairwise IoU family vs torchvision.ops (float64 exact to 1e-12, float32 to 1e-6), properties, errors."""

import pytest
import torch
import torchvision.ops as tvo
from hypothesis import given, settings
from hypothesis import strategies as st

from dlprimer.boxes import (
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
)

PAIRS = [
    (box_iou, tvo.box_iou),
    (generalized_box_iou, tvo.generalized_box_iou),
    (distance_box_iou, tvo.distance_box_iou),
    (complete_box_iou, tvo.complete_box_iou),
]
TOL = {torch.float64: 1e-12, torch.float32: 1e-6}


def random_boxes(n, dtype=torch.float64, seed=0, degenerate=0.0, integer=False):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 20
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 10
    if integer:
        xy, wh = xy.floor(), wh.floor()
    if degenerate:
        mask = torch.rand(n, 2, generator=g) < degenerate
        wh = torch.where(mask, torch.zeros_like(wh), wh)
    return torch.cat([xy, xy + wh], 1).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("ours,theirs", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_matches_torchvision(ours, theirs, dtype):
    a = random_boxes(37, dtype, seed=1, degenerate=0.2)
    b = torch.cat([random_boxes(23, dtype, seed=2, degenerate=0.2), a[:5]])  # identical boxes too
    got, want = ours(a, b), theirs(a, b)
    assert got.shape == want.shape == (37, 28)
    assert got.dtype == want.dtype == dtype
    finite = torch.isfinite(want)
    assert finite.float().mean() > 0.5
    err = (got[finite] - want[finite]).abs().max().item()
    assert err <= TOL[dtype], f"ours vs torchvision: max abs err {err}"
    assert torch.isfinite(got).all()


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_batched_leading_dims(ours, theirs):
    a = random_boxes(12, seed=3).view(2, 6, 4)
    b = random_boxes(10, seed=4).view(2, 5, 4)
    got, want = ours(a, b), theirs(a, b)
    assert got.shape == (2, 6, 5)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_hand_worked_values():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 2.0], [0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    # inter 1, union 7; enclosing 3x3 = 9
    assert box_iou(a, b)[0, 0].item() == pytest.approx(1 / 7, abs=1e-15)
    assert generalized_box_iou(a, b)[0, 0].item() == pytest.approx(1 / 7 - 2 / 9, abs=1e-15)
    # touching boxes: IoU 0, enclosing 4x2 = 8, union 8 -> GIoU 0; disjoint 0..1 and 3..4 -> GIoU = -0.5
    assert generalized_box_iou(a, b)[0, 1].item() == pytest.approx(0.0, abs=1e-15)
    c = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    d = torch.tensor([[3.0, 0.0, 4.0, 1.0]], dtype=torch.float64)
    assert generalized_box_iou(c, d).item() == pytest.approx(-0.5, abs=1e-15)
    # DIoU: centre distance^2 = 2, enclosing diagonal^2 = 18
    assert distance_box_iou(a, b, eps=0.0)[0, 0].item() == pytest.approx(1 / 7 - 2 / 18, abs=1e-15)
    assert box_iou(a, b)[0, 2].item() == 1.0


def test_degenerate_boxes_are_defined():
    p = torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 5.0]], dtype=torch.float64)
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        out = f(p, p)
        assert torch.isfinite(out).all(), f.__name__
    assert box_iou(p, p)[0, 0].item() == 0.0  # empty union -> IoU 0 (torchvision: NaN)
    assert torch.isnan(tvo.box_iou(p, p)[0, 0])


@pytest.mark.parametrize("f", [box_iou, generalized_box_iou, distance_box_iou])
def test_gradcheck(f):
    a = random_boxes(4, seed=5).requires_grad_()
    b = random_boxes(3, seed=6).requires_grad_()
    assert torch.autograd.gradcheck(f, (a, b), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_gradients_match_torchvision(ours, theirs):
    # CIoU holds alpha constant (no_grad), so finite differences do not apply to it; compare autograd
    a = random_boxes(6, seed=9)
    b = random_boxes(5, seed=10)
    g = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grads = []
    for f in (ours, theirs):
        x, y = a.clone().requires_grad_(), b.clone().requires_grad_()
        grads.append(torch.autograd.grad((f(x, y) * g).sum(), (x, y)))
    for mine, ref in zip(*grads, strict=True):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("f", [box_iou, generalized_box_iou, distance_box_iou, complete_box_iou])
def test_finite_gradients_on_degenerate_and_identical(f):
    a = torch.tensor(
        [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 2.0, 3.0]], dtype=torch.float64, requires_grad=True
    )
    f(a, a.detach().clone()).sum().backward()
    assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_is_upcast(dtype):
    a = random_boxes(8, torch.float64, seed=7, integer=True)
    got = generalized_box_iou(a.to(dtype), a.to(dtype))
    assert got.dtype == torch.float32
    want = tvo.generalized_box_iou(a, a)
    finite = torch.isfinite(want)
    torch.testing.assert_close(got.double()[finite], want[finite], rtol=0, atol=1e-6)


def test_empty():
    e = torch.zeros(0, 4)
    assert box_iou(e, random_boxes(3, torch.float32)).shape == (0, 3)
    assert complete_box_iou(random_boxes(2, torch.float32), e).shape == (2, 0)


@pytest.mark.parametrize("f", [box_iou, generalized_box_iou, distance_box_iou, complete_box_iou])
def test_bad_input(f):
    good = random_boxes(3)
    with pytest.raises(ValueError, match="boxes1 must have shape"):
        f(torch.zeros(3, 5), good)
    with pytest.raises(ValueError, match="boxes2 must be valid xyxy boxes"):
        f(good, torch.tensor([[2.0, 0.0, 1.0, 1.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="boxes1 contains NaN"):
        f(torch.tensor([[0.0, float("nan"), 1.0, 1.0]]), good)
    with pytest.raises(TypeError, match="boxes1 must be a torch.Tensor"):
        f([[0, 0, 1, 1]], good)


def test_bad_eps():
    with pytest.raises(ValueError, match="eps must be .*>= 0"):
        distance_box_iou(random_boxes(2), random_boxes(2), eps=-1.0)


coord = st.integers(min_value=0, max_value=30)


@st.composite
def box_lists(draw, min_size=1, max_size=8):
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    rows = []
    for _ in range(n):
        x, y, w, h = draw(coord), draw(coord), draw(st.integers(0, 12)), draw(st.integers(0, 12))
        rows.append([x, y, x + w, y + h])
    return torch.tensor(rows, dtype=torch.float64)


@settings(max_examples=60, deadline=None)
@given(box_lists(), box_lists())
def test_properties(a, b):
    iou = box_iou(a, b)
    giou = generalized_box_iou(a, b)
    assert ((iou >= 0) & (iou <= 1)).all()
    assert ((giou >= -1 - 1e-12) & (giou <= 1 + 1e-12)).all()
    assert (giou <= iou + 1e-12).all()
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        torch.testing.assert_close(f(a, b), f(b, a).T, rtol=0, atol=1e-12)
    nondeg = (a[:, 2] > a[:, 0]) & (a[:, 3] > a[:, 1])
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        diag = torch.diagonal(f(a, a))[nondeg]
        torch.testing.assert_close(diag, torch.ones_like(diag), rtol=0, atol=1e-6)


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
def test_convert_matches_torchvision(fmt):
    b = random_boxes(10, seed=8)
    for out in ("xyxy", "xywh", "cxcywh"):
        torch.testing.assert_close(box_convert(b, fmt, out), tvo.box_convert(b, fmt, out), rtol=0, atol=0)
    torch.testing.assert_close(box_area(b), tvo.box_area(b), rtol=0, atol=0)


def test_convert_bad_format():
    with pytest.raises(ValueError, match="in_fmt must be one of"):
        box_convert(random_boxes(2), "yxyx", "xyxy")
    with pytest.raises(ValueError, match="boxes must have shape"):
        box_convert(torch.zeros(2, 3), "xyxy", "xywh")


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8, torch.float16, torch.bfloat16])
def test_box_area_dtypes_match_torchvision(dtype):
    """Regression: integer boxes gave float32 areas; torchvision keeps integers (int32/int64), exactly."""
    b = torch.tensor([[1, 2, 5, 9], [0, 0, 3, 3], [7, 7, 7, 9]]).to(dtype)
    got, want = box_area(b), tvo.box_area(b)
    assert got.dtype == want.dtype
    assert torch.equal(got, want)
    big = torch.tensor([[0, 0, 100_003, 100_001]])  # area above 2**24: exact in int64, not in float32
    assert torch.equal(box_area(big), tvo.box_area(big)) and box_area(big).item() == 100_003 * 100_001


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
def test_clip_boxes_to_image_equals_torchvision(dtype):
    g = torch.Generator().manual_seed(7)
    b = (torch.rand(50, 4, generator=g, dtype=torch.float64) * 80 - 20).to(dtype)
    b[:, 2:] = torch.maximum(b[:, 2:], b[:, :2])
    for size in [(30, 50), (1, 1), (0, 0)]:
        got, want = clip_boxes_to_image(b, size), tvo.clip_boxes_to_image(b, size)
        assert got.dtype == want.dtype and torch.equal(got, want), (size, got, want)
    batched = b.reshape(5, 10, 4)
    assert torch.equal(clip_boxes_to_image(batched, (30, 50)), tvo.clip_boxes_to_image(batched, (30, 50)))
    with pytest.raises(ValueError, match="size"):
        clip_boxes_to_image(b, (-1, 5))


def test_augment_uses_the_one_box_area_and_clip():
    """Issue #15: ``dlprimer.augment`` has no box_area / clip of its own any more."""
    import dlprimer.augment as A
    import dlprimer.augment.sample as sample_mod

    assert not hasattr(A, "box_area") and not hasattr(A, "clip_boxes")
    assert sample_mod.box_area is box_area and sample_mod.clip_boxes_to_image is clip_boxes_to_image
