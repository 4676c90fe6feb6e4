"""conv2d / convolve2d vs torch and scipy (float64), gradcheck, and bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlprimer.scratch import Tensor, gradcheck
from dlprimer.scratch import functional as F

CASES = [
    # (N, C_in, H, W, C_out, kH, kW, stride, padding, dilation, groups, bias)
    (2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, True),
    (1, 4, 11, 8, 6, 3, 2, (2, 1), (1, 2), 1, 2, True),
    (3, 6, 10, 10, 6, 3, 3, 2, 0, 2, 3, False),
    (1, 2, 5, 6, 4, 5, 5, 1, 2, 1, 1, True),
    (2, 4, 9, 7, 8, 1, 1, 3, 0, 1, 4, True),
    (1, 1, 4, 4, 1, 4, 4, 1, 0, 1, 1, False),  # kernel = input: a 1×1 output
    (2, 4, 12, 13, 4, 3, 3, 2, 1, 1, 4, True),  # depthwise
]


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matches_torch(compare, case) -> None:
    n, ci, h, w, co, kh, kw, s, p, d, g, bias = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal((n, ci, h, w))
    wt = rng.standard_normal((co, ci // g, kh, kw))
    if bias:
        b = rng.standard_normal(co)
        compare(lambda x_, w_, b_: F.conv2d(x_, w_, b_, s, p, d, g),
                lambda x_, w_, b_: TF.conv2d(x_, w_, b_, s, p, d, g), [x, wt, b])
    else:
        compare(lambda x_, w_: F.conv2d(x_, w_, None, s, p, d, g),
                lambda x_, w_: TF.conv2d(x_, w_, None, s, p, d, g), [x, wt])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 3), g=st.integers(1, 3), cig=st.integers(1, 3), cog=st.integers(1, 3),
    kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2), dw=st.integers(1, 2),
    extra_h=st.integers(0, 6), extra_w=st.integers(0, 6), seed=st.integers(0, 10_000),
)
def test_conv2d_property(compare, n, g, cig, cog, kh, kw, sh, sw, ph, pw, dh, dw, extra_h, extra_w, seed) -> None:
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + extra_h
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + extra_w
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, g * cig, h, w))
    wt = rng.standard_normal((g * cog, cig, kh, kw))
    b = rng.standard_normal(g * cog)
    compare(lambda x_, w_, b_: F.conv2d(x_, w_, b_, (sh, sw), (ph, pw), (dh, dw), g),
            lambda x_, w_, b_: TF.conv2d(x_, w_, b_, (sh, sw), (ph, pw), (dh, dw), g), [x, wt, b])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_string_padding_and_unbatched(compare) -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((2, 3, 4, 3))  # even kernel height
    compare(lambda a, b: F.conv2d(a, b, padding="same", dilation=(1, 2)),
            lambda a, b: TF.conv2d(a, b, padding="same", dilation=(1, 2)), [x, w])
    compare(lambda a, b: F.conv2d(a, b, padding="valid"), lambda a, b: TF.conv2d(a, b, padding="valid"), [x, w])
    compare(lambda a, b: F.conv2d(a, b, padding=1), lambda a, b: TF.conv2d(a, b, padding=1), [x[0], w])


def test_conv2d_float32_close_to_torch() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    out = F.conv2d(x, w, padding=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy(),
                               rtol=1e-4, atol=1e-5)


def test_conv2d_gradcheck() -> None:
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((1, 4, 5, 6)), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 2, 3, 2)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda a, c, d: F.conv2d(a, c, d, stride=2, padding=1, dilation=(1, 2), groups=2), [x, w, b])


@pytest.mark.parametrize("mode", ["valid", "full", "same"])
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (1, 3)])
def test_convolve2d_equals_scipy_per_channel(mode, kshape) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 8))
    k = rng.standard_normal((3, *kshape))  # one kernel per channel: depthwise
    ours = F.convolve2d(x, k[:, None], padding=mode, groups=3).data
    for n in range(2):
        for c in range(3):
            ref = scipy.signal.convolve2d(x[n, c], k[c], mode=mode)
            assert ours[n, c].shape == ref.shape
            np.testing.assert_allclose(ours[n, c], ref, rtol=1e-10, atol=1e-12)


def test_convolve2d_multi_channel_sums_channels() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 6, 6))
    k = rng.standard_normal((2, 3, 3, 3))
    ours = F.convolve2d(x, k).data
    for o in range(2):
        ref = sum(scipy.signal.convolve2d(x[0, c], k[o, c], mode="valid") for c in range(3))
        np.testing.assert_allclose(ours[0, o], ref, rtol=1e-10, atol=1e-12)


def test_convolve2d_equals_conv2d_for_symmetric_kernel_but_not_in_general() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2, 6, 6))
    k = rng.standard_normal((3, 2, 3, 3))
    sym = (k + k[..., ::-1, ::-1]) / 2  # centrally symmetric
    np.testing.assert_allclose(F.convolve2d(x, sym, padding=1).data, F.conv2d(x, sym, padding=1).data,
                               rtol=1e-12, atol=1e-12)
    assert not np.allclose(F.convolve2d(x, k).data, F.conv2d(x, k).data)


def test_convolve2d_gradients(compare) -> None:
    rng = np.random.default_rng(7)
    x, k = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 2))
    compare(lambda a, b: F.convolve2d(a, b, padding=1),
            lambda a, b: TF.conv2d(a, b.flip(-1, -2), padding=1), [x, k])


def test_conv2d_bad_inputs() -> None:
    x = np.zeros((1, 4, 5, 5))
    w = np.zeros((2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"input must be .*got shape \(4, 5\)"):
        F.conv2d(np.zeros((4, 5)), w)
    with pytest.raises(ValueError, match=r"weight must be .*got shape"):
        F.conv2d(x, np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"channel mismatch.*\(1, 4, 5, 5\).*\(2, 3, 3, 3\)"):
        F.conv2d(x, np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        F.conv2d(np.zeros((1, 6, 5, 5)), np.zeros((4, 2, 3, 3)), groups=3)
    with pytest.raises(ValueError, match=r"kernel size \(7, 7\).*larger than the padded input"):
        F.conv2d(x, np.zeros((2, 4, 7, 7)), padding=0)
    with pytest.raises(ValueError, match="dilated 5"):
        F.conv2d(np.zeros((1, 4, 4, 4)), w, dilation=2)
    with pytest.raises(TypeError, match="input must be a floating-point tensor.*int64"):
        F.conv2d(np.zeros((1, 4, 5, 5), dtype=np.int64), w)
    with pytest.raises(TypeError, match="share a dtype"):
        F.conv2d(x.astype(np.float32), w)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.conv2d(x, w, np.zeros(3))
    with pytest.raises(ValueError, match="stride must be"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="same' requires stride 1"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be"):
        F.conv2d(x, w, padding="circular")
