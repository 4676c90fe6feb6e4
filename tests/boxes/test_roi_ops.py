"""roi_align / roi_pool vs torchvision.ops: forward values and input gradients; gradcheck; errors."""

import pytest
import torch
import torchvision.ops as tvo

from dlprimer.boxes import RoIAlign, RoIPool, roi_align, roi_pool


def make(dtype, k=40, seed=0, n=2, c=3, h=13, w=17):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64).to(dtype)
    xy = torch.rand(k, 2, generator=g, dtype=torch.float64) * 40 - 6  # some outside the map
    wh = torch.rand(k, 2, generator=g, dtype=torch.float64) * 25
    wh[::7] = 0  # degenerate ROIs
    idx = torch.randint(0, n, (k, 1), generator=g).double()
    return x, torch.cat([idx, xy, xy + wh], 1).to(dtype)


def compare(ours, theirs, x, rois, tol, **kw):
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = ours(xa, rois, **kw), theirs(xb, rois, **kw)
    assert a.shape == b.shape and a.dtype == b.dtype
    torch.testing.assert_close(a, b, rtol=0, atol=tol)
    g = torch.randn(a.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(a.dtype)
    (ga,) = torch.autograd.grad(a, xa, g)
    (gb,) = torch.autograd.grad(b, xb, g)
    torch.testing.assert_close(ga, gb, rtol=0, atol=tol * 10)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 0, 1, 3])
@pytest.mark.parametrize("scale,out", [(1.0, (5, 4)), (0.5, 7), (0.25, (2, 3))])
def test_roi_align_matches_torchvision(dtype, tol, aligned, sampling_ratio, scale, out):
    x, rois = make(dtype)
    compare(
        roi_align,
        tvo.roi_align,
        x,
        rois,
        tol,
        output_size=out,
        spatial_scale=scale,
        sampling_ratio=sampling_ratio,
        aligned=aligned,
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("scale,out", [(1.0, (5, 4)), (0.5, 7), (0.3, (1, 1)), (2.0, (9, 2))])
def test_roi_pool_matches_torchvision(dtype, scale, out):
    x, rois = make(dtype, seed=2)
    compare(roi_pool, tvo.roi_pool, x, rois, 0.0, output_size=out, spatial_scale=scale)


def test_roi_pool_ties_and_rounding_halves():
    x = torch.randint(0, 3, (1, 2, 10, 10)).double()  # many tied maxima: first one gets the gradient
    rois = torch.tensor(
        [[0, 0, 0, 9, 9], [0, 1.5, 2.5, 7.5, 6.5], [0, 2.5, 0.5, 3.5, 9], [0, 0.5, 0.5, 4.5, 4.5]], dtype=torch.float64
    )
    compare(roi_pool, tvo.roi_pool, x, rois, 0.0, output_size=3, spatial_scale=1.0)


def test_list_of_boxes_equals_k5():
    x, _ = make(torch.float64)
    lists = [
        torch.tensor([[1.0, 2.0, 9.0, 8.0], [0.0, 0.0, 3.0, 3.0]], dtype=torch.float64),
        torch.tensor([[4.0, 1.0, 12.0, 12.0]], dtype=torch.float64),
    ]
    for ours, theirs in ((roi_align, tvo.roi_align), (roi_pool, tvo.roi_pool)):
        torch.testing.assert_close(ours(x, lists, 3), theirs(x, lists, 3), rtol=0, atol=1e-12)


@pytest.mark.parametrize("f", [roi_align, roi_pool])
def test_gradcheck(f):
    x, rois = make(torch.float64, k=6, seed=3, c=2, h=6, w=7)
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: f(t, rois, (2, 3), 0.7), (x,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    x, rois = make(torch.float32, seed=4)
    got = roi_align(x.to(dtype), rois.to(dtype), 4, 0.5, 2, True)
    assert got.dtype == dtype
    want = tvo.roi_align(x.to(dtype).float(), rois.to(dtype).float(), 4, 0.5, 2, True)
    torch.testing.assert_close(got.float(), want, rtol=1e-2, atol=1e-2)
    got = roi_pool(x.to(dtype), rois.to(dtype), 4, 0.5)
    assert got.dtype == dtype
    torch.testing.assert_close(got.float(), tvo.roi_pool(x.to(dtype).float(), rois.to(dtype).float(), 4, 0.5))


def test_modules_and_empty():
    x, rois = make(torch.float64)
    torch.testing.assert_close(RoIAlign((3, 3), 0.5, 2, True)(x, rois), tvo.RoIAlign((3, 3), 0.5, 2, True)(x, rois))
    torch.testing.assert_close(RoIPool(3, 0.5)(x, rois), tvo.RoIPool(3, 0.5)(x, rois))
    assert "sampling_ratio=2" in repr(RoIAlign(3, 0.5, 2))
    assert roi_align(x, rois[:0], 3).shape == (0, 3, 3, 3)
    assert roi_pool(x, [torch.zeros(0, 4, dtype=torch.float64)], 2).shape == (0, 3, 2, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x, rois = make(torch.float32)
    for f in (roi_align, roi_pool):
        torch.testing.assert_close(f(x.cuda(), rois.cuda(), 3, 0.5).cpu(), f(x, rois, 3, 0.5), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("f", [roi_align, roi_pool])
def test_bad_input(f):
    x, rois = make(torch.float64)
    with pytest.raises(ValueError, match="input must have shape"):
        f(x[0], rois, 3)
    with pytest.raises(ValueError, match=r"boxes must be a Tensor\[K, 5\]"):
        f(x, rois[:, 1:], 3)
    with pytest.raises(ValueError, match=r"boxes\[0\] must have shape \[L, 4\]"):
        f(x, [rois], 3)
    with pytest.raises(ValueError, match="integer batch indices"):
        f(x, torch.tensor([[5.0, 0, 0, 1, 1]], dtype=torch.float64), 3)
    with pytest.raises(ValueError, match="output_size must be"):
        f(x, rois, (0, 2))
    with pytest.raises(ValueError, match="spatial_scale must be .*> 0"):
        f(x, rois, 2, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        f(x, torch.tensor([[0.0, float("nan"), 0, 1, 1]], dtype=torch.float64), 3)
    with pytest.raises(TypeError, match="input must be a floating tensor"):
        f(x.long(), rois, 3)


@pytest.mark.parametrize("f", [roi_align, roi_pool])
def test_rois_entirely_outside_the_map(f):
    """Regression: a ROI wholly beyond the bottom/right edge (roi_pool used to index past the map)."""
    x = torch.randn(2, 3, 7, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    rois = torch.tensor(
        [[0, 30.0, 30, 45, 45], [1, 9.0, 0, 20, 3], [1, 0.0, 7, 4, 12], [0, -20.0, -20, -15, -15], [0, 8.6, 6.6, 9, 7]],
        dtype=torch.float64,
    )
    for out in (1, 2, (3, 2)):
        compare(f, getattr(tvo, f.__name__), x, rois, 1e-12, output_size=out, spatial_scale=1.0)
