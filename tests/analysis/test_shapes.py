"""Output-size formulas and the one-layer receptive-field recursion.

Oracles: the shapes of real torch ops (conv2d, max_pool2d, avg_pool2d, adaptive pooling) on random
(size, kernel, stride, padding, dilation, ceil_mode) cases; hand-worked values from the notes; the
published VGG-16 receptive fields.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlprimer.analysis.shapes import (
    RFState,
    adaptive_windows,
    conv_output_size,
    conv_output_size_notes,
    pool_output_size,
    pool_output_size_notes,
    receptive_field_chain,
    receptive_field_step,
    receptive_field_top_down,
)


@settings(max_examples=120, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_conv_output_size_equals_torch(size: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
    x = torch.empty(1, 1, size, 3, device="meta")
    w = torch.empty(1, 1, kernel, 1, device="meta")
    span = dilation * (kernel - 1) + 1
    if size + 2 * padding < span:
        with pytest.raises(ValueError, match="effective kernel"):
            conv_output_size(size, kernel, stride, padding, dilation)
        return
    out = F.conv2d(x, w, None, (stride, 1), (padding, 0), (dilation, 1))
    assert conv_output_size(size, kernel, stride, padding, dilation) == out.shape[2]


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
    ceil_mode=st.booleans(),
)
def test_max_pool_output_size_equals_torch(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> None:
    x = torch.zeros(1, 1, size, 2)
    if padding > kernel // 2:
        with pytest.raises(ValueError):
            pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
        return
    try:  # in ceil mode an input shorter than the kernel can still give one window (torch decides)
        out = F.max_pool2d(x, (kernel, 1), (stride, 1), (padding, 0), (dilation, 1), ceil_mode=ceil_mode)
    except RuntimeError:  # torch refuses an empty output; ours must refuse too
        with pytest.raises(ValueError):
            pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
        return
    assert pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == out.shape[2]


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    ceil_mode=st.booleans(),
)
def test_avg_pool_output_size_equals_torch(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> None:
    assume(padding <= kernel // 2)  # torch's own rule; the rejection is tested in the max-pool test
    try:
        out = F.avg_pool2d(torch.zeros(1, 1, size, 2), (kernel, 1), (stride, 1), (padding, 0), ceil_mode=ceil_mode)
    except RuntimeError:  # torch refuses an empty output; ours must refuse too
        with pytest.raises(ValueError, match="empty"):
            pool_output_size(size, kernel, stride, padding, 1, ceil_mode)
        return
    assert pool_output_size(size, kernel, stride, padding, 1, ceil_mode) == out.shape[2]


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation"),
    [(1, 3, 3, 0, 1), (2, 6, 5, 0, 1), (1, 4, 4, 1, 1), (9, 5, 5, 0, 3), (1, 2, 4, 0, 2), (3, 6, 3, 1, 1)],
)
def test_ceil_mode_pool_on_input_shorter_than_kernel(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    """Regression: in ceil mode PyTorch keeps one partial window when the (padded) input is shorter than
    the effective kernel (ATen's ``div_rtn(i + 2p - k_eff + s - 1, s) + 1``); floor mode refuses."""
    x = torch.zeros(1, 1, size)
    out = F.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode=True)
    assert pool_output_size(size, kernel, stride, padding, dilation, ceil_mode=True) == out.shape[-1] == 1
    if dilation == 1:
        avg = F.avg_pool1d(x, kernel, stride, padding, ceil_mode=True)
        assert pool_output_size(size, kernel, stride, padding, 1, ceil_mode=True) == avg.shape[-1]
    with pytest.raises(RuntimeError):
        F.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode=False)
    with pytest.raises(ValueError, match="empty"):
        pool_output_size(size, kernel, stride, padding, dilation, ceil_mode=False)


def test_ceil_mode_drops_window_starting_in_right_padding() -> None:
    # i=5, k=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4, but the 4th window would start at 6 = i+p (padding)
    assert pool_output_size(5, 2, 2, 1, 1, ceil_mode=True) == 3
    assert F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape[-1] == 3
    # GoogLeNet's stem: 112 → 56 with a 3×3/2 ceil-mode pool (floor would give 55)
    assert pool_output_size(112, 3, 2, 0, 1, ceil_mode=True) == 56
    assert pool_output_size(112, 3, 2, 0, 1, ceil_mode=False) == 55


def test_notes_formulas_hand_worked() -> None:
    assert conv_output_size_notes(224, 7, 2, 3) == 112  # ResNet stem
    assert conv_output_size_notes(227, 11, 4, 0) == 55  # AlexNet paper
    assert pool_output_size_notes(55, 3, 2) == 27
    assert pool_output_size(10, 2) == 5  # stride defaults to kernel


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: conv_output_size(10, 0), "kernel"),
        (lambda: conv_output_size(10, 3, stride=0), "stride"),
        (lambda: conv_output_size(10, 3, padding=-1), "padding"),
        (lambda: conv_output_size(10, 3, dilation=0), "dilation"),
        (lambda: conv_output_size(2, 5), "effective kernel"),
        (lambda: pool_output_size(10, 3, 1, 2), "padding must be at most"),
        (lambda: pool_output_size(10, 3, ceil_mode=1), "ceil_mode"),
    ],
)
def test_bad_arguments_raise_value_errors(call, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_size_must_be_int() -> None:
    with pytest.raises(TypeError, match="size must be an int"):
        conv_output_size(10.0, 3)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 30), out=st.integers(1, 30))
def test_adaptive_windows_equal_torch(size: int, out: int) -> None:
    """Window sums reproduce F.adaptive_avg_pool1d exactly (oracle: torch)."""
    x = torch.arange(size, dtype=torch.float64).reshape(1, 1, size) ** 2
    expected = F.adaptive_avg_pool1d(x, out)[0, 0]
    ours = torch.tensor([x[0, 0, a:b].mean().item() for a, b in adaptive_windows(size, out)], dtype=torch.float64)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)


VGG16 = [(3, 1, 1)] * 2 + [(2, 2, 0)] + [(3, 1, 1)] * 2 + [(2, 2, 0)] + ([(3, 1, 1)] * 3 + [(2, 2, 0)]) * 3


def test_vgg16_published_receptive_fields() -> None:
    """Published VGG-16 fields (e.g. Araujo et al. 2019): pool1 6, pool2 16, pool3 44, pool4 100, pool5 212."""
    states = receptive_field_chain(VGG16)
    pools = [s for (k, stride, p), s in zip(VGG16, states, strict=True) if stride == 2]
    assert [s.rf for s in pools] == [6, 16, 44, 100, 212]
    assert [s.jump for s in pools] == [2, 4, 8, 16, 32]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 3)), min_size=1, max_size=8))
def test_bottom_up_equals_notes_top_down(layers: list[tuple[int, int]]) -> None:
    chain = receptive_field_chain([(k, s, 0) for k, s in layers])
    assert chain[-1].rf == receptive_field_top_down(layers)


def test_dilation_and_start_hand_worked() -> None:
    # 3×3 dilation 2, padding 2: span 5, centred → start stays 0, rf 5
    s = receptive_field_step(RFState(), kernel=3, stride=1, padding=2, dilation=2)
    assert (s.rf, s.jump, s.start) == (5, 1, 0)
    # 2×2/2 pool without padding: the first output covers pixels 0,1 → centre 0.5
    s = receptive_field_step(RFState(), kernel=2, stride=2, padding=0)
    assert (s.rf, s.jump, s.start) == (2, 2, 0.5)
    with pytest.raises(ValueError, match="kernel, stride, padding"):
        receptive_field_chain([(3, 1)])  # type: ignore[list-item]
