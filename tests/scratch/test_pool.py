"""Pooling vs torch (float64): max/avg (overlap, padding, ceil_mode, dilation), adaptive, SPP; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlprimer.scratch import Tensor, gradcheck
from dlprimer.scratch import functional as F

POOL_CASES = [
    # (shape, kernel, stride, padding, ceil_mode)
    ((2, 3, 8, 8), 2, None, 0, False),
    ((1, 2, 7, 9), 3, 2, 1, False),  # overlapping (k > s), padded
    ((2, 1, 7, 9), 3, 2, 1, True),
    ((1, 3, 10, 11), (3, 2), (2, 3), (1, 0), True),
    ((3, 2, 5, 5), 2, 2, 0, True),  # ceil adds a partial window
    ((1, 1, 6, 6), 6, 1, 0, False),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_matches_torch(compare, case) -> None:
    shape, k, s, p, ceil = case
    x = np.random.default_rng(0).standard_normal(shape)
    compare(lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil),
            lambda t: TF.max_pool2d(t, k, s, p, ceil_mode=ceil), [x])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 2), c=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3),
       sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2), extra_h=st.integers(0, 6),
       extra_w=st.integers(0, 6), ceil=st.booleans(), include_pad=st.booleans(), seed=st.integers(0, 9999))
def test_pools_property(compare, n, c, kh, kw, sh, sw, ph, pw, extra_h, extra_w, ceil, include_pad, seed) -> None:
    ph, pw = min(ph, kh // 2), min(pw, kw // 2)
    h, w = max(1, kh - 2 * ph) + extra_h, max(1, kw - 2 * pw) + extra_w
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    k, s, p = (kh, kw), (sh, sw), (ph, pw)
    compare(lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil), lambda t: TF.max_pool2d(t, k, s, p, ceil_mode=ceil),
            [x])
    compare(lambda t: F.avg_pool2d(t, k, s, p, ceil, include_pad),
            lambda t: TF.avg_pool2d(t, k, s, p, ceil, include_pad), [x])


def test_max_pool2d_dilation_and_indices(compare) -> None:
    x = np.random.default_rng(1).standard_normal((2, 2, 9, 10))
    compare(lambda t: F.max_pool2d(t, 3, 2, 1, dilation=2), lambda t: TF.max_pool2d(t, 3, 2, 1, dilation=2), [x])
    out, idx = F.max_pool2d(x, 3, 2, 1, dilation=(2, 1), ceil_mode=True, return_indices=True)
    tout, tidx = TF.max_pool2d(torch.tensor(x), 3, 2, 1, dilation=(2, 1), ceil_mode=True, return_indices=True)
    np.testing.assert_allclose(out.data, tout.numpy())
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, tidx.numpy())


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(compare, case, count_include_pad) -> None:
    shape, k, s, p, ceil = case
    x = np.random.default_rng(2).standard_normal(shape)
    compare(lambda t: F.avg_pool2d(t, k, s, p, ceil, count_include_pad),
            lambda t: TF.avg_pool2d(t, k, s, p, ceil, count_include_pad), [x])


def test_avg_pool2d_divisor_override_and_unbatched(compare) -> None:
    x = np.random.default_rng(3).standard_normal((2, 7, 7))
    compare(lambda t: F.avg_pool2d(t, 3, 2, 1, divisor_override=5),
            lambda t: TF.avg_pool2d(t, 3, 2, 1, divisor_override=5), [x])


@pytest.mark.parametrize(("shape", "out"), [((2, 3, 10, 7), (3, 4)), ((1, 2, 5, 5), 5), ((1, 1, 3, 4), (5, 6)),
                                            ((2, 2, 9, 9), (None, 2)), ((1, 3, 32, 32), (5, 5))])
def test_adaptive_pools_match_torch(compare, shape, out) -> None:
    x = np.random.default_rng(4).standard_normal(shape)
    compare(lambda t: F.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [x])
    compare(lambda t: F.adaptive_max_pool2d(t, out), lambda t: TF.adaptive_max_pool2d(t, out), [x])


@pytest.mark.parametrize("hw", [(7, 7), (13, 10), (4, 5), (1, 1)])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_spatial_pyramid_pool_matches_torch_composition(compare, hw, mode) -> None:
    x = np.random.default_rng(5).standard_normal((2, 3, *hw))
    levels = (1, 2, 4)
    pool = TF.adaptive_max_pool2d if mode == "max" else TF.adaptive_avg_pool2d

    def theirs(t):
        return torch.cat([pool(t, n).flatten(1) for n in levels], dim=1)

    out, _ = compare(lambda t: F.spatial_pyramid_pool(t, levels, mode), theirs, [x])
    assert out.shape == (2, F.spp_output_length(3, levels)) == (2, 3 * 21)


def test_pools_gradcheck() -> None:
    x = Tensor(np.random.default_rng(6).standard_normal((1, 2, 5, 6)), requires_grad=True)
    assert gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), [x])
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 4)), [x])
    assert gradcheck(lambda t: F.spatial_pyramid_pool(t, (1, 2)), [x])


def test_pool_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"input must be .*got shape \(4, 4\)"):
        F.max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(np.zeros((1, 1, 8, 8)), 2, padding=2)
    with pytest.raises(ValueError, match=r"larger than the padded input.*\(1, 1, 3, 3\)"):
        F.avg_pool2d(np.zeros((1, 1, 3, 3)), 5, padding=0)
    with pytest.raises(TypeError, match="input must be a floating-point tensor.*int"):
        F.avg_pool2d(np.zeros((1, 1, 4, 4), dtype=np.int32), 2)
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), 0)
    with pytest.raises(ValueError, match="levels"):
        F.spatial_pyramid_pool(np.zeros((1, 1, 4, 4)), ())
    with pytest.raises(ValueError, match="mode"):
        F.spatial_pyramid_pool(np.zeros((1, 1, 4, 4)), (1,), mode="median")
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0)


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "ceil_mode"),
                         [(2, 2, 1, 1, False), (3, 2, 1, (1, 2), True), ((3, 2), (1, 2), (1, 1), 1, True)])
def test_max_pool2d_windows_of_minus_inf_route_gradient_like_torch(compare, kernel, stride, padding, dilation,
                                                                    ceil_mode) -> None:
    # regression: a window holding only −∞ sent its gradient into the padding (lost) instead of to its first
    # in-bounds pixel, which is where torch's kernel puts the index
    x = np.random.default_rng(3).standard_normal((2, 2, 6, 7))
    x[np.random.default_rng(4).random(x.shape) < 0.7] = -np.inf
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    compare(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), [x])
    _, idx = F.max_pool2d(Tensor(x), return_indices=True, **kw)
    _, tidx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(idx, tidx.numpy())


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d"])
def test_pools_on_an_empty_batch(name) -> None:
    # regression: adaptive_max_pool2d failed on N = 0 (reshape(.., -1) of an empty array)
    x = np.zeros((0, 3, 5, 4))
    arg = 2
    ours = getattr(F, name)(Tensor(x, requires_grad=True), arg)
    theirs = getattr(TF, name)(torch.tensor(x), arg)
    assert ours.shape == tuple(theirs.shape) == (0, 3, 2, 2)
    ours.backward(np.zeros(ours.shape))
