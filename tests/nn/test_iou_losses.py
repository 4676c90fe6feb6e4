"""IoU-family losses vs torchvision's generalized/distance/complete box IoU losses; degenerate inputs."""

import pytest
import torch
import torchvision.ops as tvo

from dlprimer.nn.losses import ciou_loss, diou_loss, giou_loss, iou_loss

PAIRS = [
    (giou_loss, tvo.generalized_box_iou_loss),
    (diou_loss, tvo.distance_box_iou_loss),
    (ciou_loss, tvo.complete_box_iou_loss),
]
IDS = [p[0].__name__ for p in PAIRS]


def boxes(n, seed, dtype=torch.float64, degenerate=0.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 10
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 6
    if degenerate:
        wh = torch.where(torch.rand(n, 2, generator=g) < degenerate, torch.zeros_like(wh), wh)
    return torch.cat([xy, xy + wh], 1).to(dtype)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_matches_torchvision(ours, theirs, reduction, dtype, tol):
    a, b = boxes(200, 0, dtype, degenerate=0.1), boxes(200, 1, dtype, degenerate=0.1)
    b[:10] = a[:10]  # identical pairs
    got, want = ours(a, b, reduction=reduction), theirs(a, b, reduction=reduction)
    assert got.shape == want.shape and got.dtype == want.dtype
    finite = torch.isfinite(want)
    if reduction == "none":
        torch.testing.assert_close(got[finite], want[finite], rtol=0, atol=tol)
        assert torch.isfinite(got).all()
    elif bool(finite.all()):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_gradients_match_torchvision(ours, theirs):
    a, b = boxes(50, 2), boxes(50, 3)
    ga = [
        torch.autograd.grad(f(x, b, reduction="sum"), x)[0]
        for f, x in ((ours, a.clone().requires_grad_()), (theirs, a.clone().requires_grad_()))
    ]
    torch.testing.assert_close(ga[0], ga[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("f", [iou_loss, giou_loss, diou_loss])
def test_gradcheck(f):
    a, b = boxes(6, 4).requires_grad_(), boxes(6, 5).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, y: f(x, y, reduction="sum"), (a, b), eps=1e-6, atol=1e-7)


def test_iou_loss_is_one_minus_iou():
    a, b = boxes(30, 6), boxes(30, 7)
    want = 1 - torch.diagonal(tvo.box_iou(a, b))
    torch.testing.assert_close(iou_loss(a, b), want, rtol=0, atol=1e-12)
    f32 = iou_loss(a.float(), b.float())
    assert f32.dtype == torch.float32
    torch.testing.assert_close(f32, (1 - torch.diagonal(tvo.box_iou(a.float(), b.float()))), rtol=0, atol=1e-6)


@pytest.mark.parametrize("eps", [1e-7, 0.0])
@pytest.mark.parametrize("f", [iou_loss, giou_loss, diou_loss, ciou_loss])
def test_degenerate_and_identical_give_finite_values_and_gradients(f, eps):
    a = torch.tensor(
        [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 3.0], [0.0, 0.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    b = torch.tensor(
        [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 0.0], [1.0, 1.0, 4.0, 2.0], [0.0, 0.0, 2.0, 3.0], [1.0, 1.0, 3.0, 3.0]],
        dtype=torch.float64,
    )
    loss = f(a, b, eps=eps)
    assert torch.isfinite(loss).all()
    loss.sum().backward()
    assert torch.isfinite(a.grad).all()
    # identical non-degenerate boxes: loss 0 (up to eps)
    assert loss[3].item() == pytest.approx(0.0, abs=1e-6)


def test_torchvision_nan_cases_are_defined():
    a = torch.tensor([[1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    assert torch.isnan(tvo.complete_box_iou_loss(a, a)).all()
    assert ciou_loss(a, a).item() == pytest.approx(1.0, abs=1e-12)  # IoU 0, no distance, no aspect term


def test_half_upcast_and_empty():
    a, b = boxes(20, 8, torch.float16), boxes(20, 9, torch.float16)
    got = giou_loss(a, b)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, tvo.generalized_box_iou_loss(a.float(), b.float()), rtol=0, atol=1e-6)
    e = torch.zeros(0, 4, requires_grad=True)
    for f in (iou_loss, giou_loss, diou_loss, ciou_loss):
        m = f(e, e.detach(), reduction="mean")
        assert m.item() == 0.0
        m.backward()


def test_bad_input():
    a = boxes(3, 0)
    with pytest.raises(ValueError, match="boxes1 and boxes2 must have the same shape"):
        giou_loss(a, a[:2])
    with pytest.raises(ValueError, match="reduction must be one of"):
        giou_loss(a, a, reduction="avg")
    with pytest.raises(ValueError, match="boxes1 must be valid xyxy boxes"):
        ciou_loss(torch.tensor([[2.0, 0.0, 1.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="boxes2 must have shape"):
        diou_loss(torch.zeros(2, 4), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="eps must be .*>= 0"):
        iou_loss(a, a, eps=-1)


@pytest.mark.parametrize("eps", [0.0, 1e-3, 0.5, 2.0])
@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_other_eps_match_torchvision(ours, theirs, eps):
    """Regression: with a non-default eps, torchvision's CIoU loss keeps eps = 1e-7 in its IoU/DIoU part."""
    a, b = boxes(100, 4), boxes(100, 5)
    want = theirs(a, b, eps=eps)
    fin = torch.isfinite(want)
    torch.testing.assert_close(ours(a, b, eps=eps)[fin], want[fin], rtol=0, atol=1e-12)
