"""Output-size formulas for convolution and pooling, and the receptive-field recursion for one layer.

The notes ("卷积,池化尺寸及感受野计算") give, for input size ``i``, kernel ``k``, stride ``s``, padding ``p``:

    conv:  o = ⌊(i + 2p − k) / s⌋ + 1
    pool:  o = ⌊(i − k) / s⌋ + 1
    RF:    RF_{N−1} = (RF_N − 1)·s + k          (from the top layer down, s and k of layer N−1)

The notes' pooling formula omits padding and ``ceil_mode``, and neither includes dilation. The general
rule PyTorch implements (``torch.nn.Conv2d``/``MaxPool2d`` docs, ``pooling_output_shape`` in ATen) is,
with the effective kernel ``k_eff = d·(k − 1) + 1``::

    o = ⌊(i + 2p − k_eff) / s⌋ + 1                         (floor mode; every conv)
    o = ⌈(i + 2p − k_eff) / s⌉ + 1, minus 1 if (o − 1)·s ≥ i + p  (pool with ceil_mode=True)

The correction in ceil mode drops a last window that would start in the right padding: every window
must start inside the input or the left padding. In ceil mode the ceiling is taken of a possibly
negative numerator, so an input shorter than the effective kernel still gives one (partial) window,
as PyTorch does (e.g. ``i = 1, k = 3, s = 3`` → 1); an empty output is an error. Pooling also requires ``p ≤ k // 2``.

Receptive field bookkeeping, bottom-up (Dumoulin & Visin 2016; Araujo et al. 2019, "Computing
receptive fields of CNNs"): each layer's output position has a field of ``r`` input pixels, adjacent
output positions are ``j`` (jump, effective stride) input pixels apart, and the centre of position 0 is
at input coordinate ``start`` (0-based; negative = inside the padding). One layer maps::

    r_out = r_in + (k_eff − 1)·j_in
    j_out = j_in · s
    start_out = start_in + ((k_eff − 1)/2 − p)·j_in

which unrolls to the notes' top-down recursion (see :func:`receptive_field_top_down`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dlprimer._checks import is_int_like


def _check_int(name: str, value: object, minimum: int) -> int:
    if not is_int_like(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """``d·(k − 1) + 1``: the span of a dilated kernel."""
    _check_int("kernel", kernel, 1)
    _check_int("dilation", dilation, 1)
    return dilation * (kernel - 1) + 1


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution along one axis: ``⌊(i + 2p − d(k−1) − 1)/s⌋ + 1``.

    Raises ``ValueError`` when the (padded) input is shorter than the effective kernel.
    """
    _check_int("size", size, 0)
    _check_int("stride", stride, 1)
    _check_int("padding", padding, 0)
    span = effective_kernel(kernel, dilation)
    if size + 2 * padding < span:
        raise ValueError(
            f"input size {size} with padding {padding} is smaller than the effective kernel {span} "
            f"(kernel {kernel}, dilation {dilation})"
        )
    return (size + 2 * padding - span) // stride + 1


def pool_output_size(
    size: int,
    kernel: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of max/avg pooling along one axis, with PyTorch's ``ceil_mode`` rule.

    ``stride=None`` means ``stride = kernel`` (PyTorch's default). Raises ``ValueError`` when
    ``padding > kernel // 2`` (PyTorch refuses it) or the output would be empty.
    """
    stride = kernel if stride is None else stride
    _check_int("size", size, 0)
    _check_int("stride", stride, 1)
    _check_int("padding", padding, 0)
    span = effective_kernel(kernel, dilation)
    if padding > kernel // 2:
        raise ValueError(f"padding must be at most kernel // 2 = {kernel // 2} for pooling, got {padding}")
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"ceil_mode must be a bool, got {type(ceil_mode).__name__}")
    numerator = size + 2 * padding - span
    if ceil_mode:
        # ATen: div_rtn(i + 2p - k_eff + s - 1, s) + 1 with floor division, so a (padded) input shorter
        # than the kernel still gives one window in ceil mode when that window starts inside the input
        out = (numerator + stride - 1) // stride + 1
        if (out - 1) * stride >= size + padding:  # last window would start in the right padding
            out -= 1
    else:
        out = numerator // stride + 1
    if out < 1:
        raise ValueError(
            f"input size {size} with padding {padding} is smaller than the effective kernel {span}: "
            f"the output would be empty (size {out})"
        )
    return out


def conv_output_size_notes(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The notes' conv formula ``⌊(i + 2p − k)/s⌋ + 1`` (no dilation)."""
    return conv_output_size(size, kernel, stride, padding, 1)


def pool_output_size_notes(size: int, kernel: int, stride: int) -> int:
    """The notes' pool formula ``⌊(i − k)/s⌋ + 1`` (no padding, floor mode)."""
    return pool_output_size(size, kernel, stride, 0, 1, False)


@dataclass(frozen=True)
class RFState:
    """Receptive field along one axis: size ``rf`` (input pixels), ``jump`` and ``start`` (see module doc)."""

    rf: float = 1.0
    jump: float = 1.0
    start: float = 0.0


def receptive_field_step(state: RFState, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> RFState:
    """One sliding-window layer (conv or pool) applied to ``state`` (bottom-up recursion above)."""
    _check_int("stride", stride, 1)
    span = effective_kernel(kernel, dilation)
    return RFState(
        rf=state.rf + (span - 1) * state.jump,
        jump=state.jump * stride,
        start=state.start + ((span - 1) / 2 - padding) * state.jump,
    )


def receptive_field_chain(layers: Sequence[tuple[int, int, int] | tuple[int, int, int, int]]) -> list[RFState]:
    """Fields after each layer of a plain chain of ``(kernel, stride, padding[, dilation])`` layers."""
    state = RFState()
    states = []
    for layer in layers:
        if len(layer) not in (3, 4):
            raise ValueError(f"each layer must be (kernel, stride, padding[, dilation]), got {layer!r}")
        state = receptive_field_step(state, *layer)
        states.append(state)
    return states


def receptive_field_top_down(layers: Sequence[tuple[int, int]]) -> int:
    """The notes' recursion ``RF_{N−1} = (RF_N − 1)·s_{N−1} + k_{N−1}`` from ``RF = 1`` at the top.

    ``layers`` are ``(kernel, stride)`` bottom to top; returns the field of the last layer's outputs in
    input pixels. Equal to :func:`receptive_field_chain`'s last ``rf`` (no dilation).
    """
    rf = 1
    for kernel, stride in reversed(list(layers)):
        rf = (rf - 1) * stride + kernel
    return rf


def adaptive_windows(size: int, out_size: int) -> list[tuple[int, int]]:
    """Adaptive pooling windows ``[⌊i·n/m⌋, ⌈(i+1)·n/m⌉)`` for input ``n`` and output ``m`` (PyTorch's rule)."""
    _check_int("size", size, 1)
    _check_int("out_size", out_size, 1)
    return [(i * size // out_size, -(-(i + 1) * size // out_size)) for i in range(out_size)]
