"""Losses (notes: 交叉熵及求导, BCE / BCEWithLogits / CrossEntropy "无需手动做softmax", MSE vs MAE,
Smooth L1, Focal loss, Label-smooth), with torch's argument names and reduction rules.

Cross-entropy derivation (手推公式): with ``p = softmax(z)`` and per-class coefficients ``A_c`` (the one-hot
target scaled by the class weight, mixed with the label-smoothing mass), the per-sample loss is
``L = −Σ_c A_c log p_c`` and ``∂L/∂z_i = p_i Σ_c A_c − A_i`` — for a plain one-hot target simply
``p − y``. We never form ``log(softmax)``: :func:`log_softmax` is stable, so logits of magnitude 1e4 are fine.

torch's reduction rules, reproduced exactly:

* class indices, ``reduction="mean"``: ``Σ_i L_i / Σ_{i not ignored} w[y_i]`` (a weighted mean; the
  label-smoothing term uses the same denominator); ignored targets contribute 0 to both sums.
* class indices with ``label_smoothing = ε``: ``L = (1−ε)·(−w_y log p_y) + (ε/C)·(−Σ_c w_c log p_c)``.
* class probabilities: targets are first mixed ``q·(1−ε) + ε/C``; ``L = −Σ_c w_c q_c log p_c``;
  ``"mean"`` divides by the number of samples (``input.numel() / C``), not by weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.scratch.autograd import Context, Function, Tensor, as_tensor
from dlprimer.scratch.ops._checks import check_reduction, float_tensor, optional_float, same_shape
from dlprimer.scratch.ops.activation import _sigmoid, log_softmax, sigmoid


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _class_weight(weight: Any, c: int, dtype: Any) -> NDArray[Any] | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.shape != (c,):
        raise ValueError(f"weight must have one value per class, shape ({c},), got {w.shape}")
    return w.astype(dtype)


def _nll(logp: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str,
         label_smoothing: float) -> Tensor:
    """Negative log-likelihood (with optional smoothing) of log-probabilities ``logp [N, C, ...]`` / ``[C]``."""
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if logp.ndim == 0:
        raise ValueError("input must have a class dimension: [C], [N, C] or [N, C, d1, ...], got a scalar")
    cdim = 0 if logp.ndim == 1 else 1
    c = logp.shape[cdim]
    wshape = [1] * logp.ndim
    wshape[cdim] = c
    wvec = _class_weight(weight, c, logp.dtype)
    t = as_tensor(target)
    eps = float(label_smoothing)
    if np.issubdtype(t.dtype, np.integer):
        expected = logp.shape[:cdim] + logp.shape[cdim + 1 :]
        if t.shape != expected:
            raise ValueError(f"target of class indices must have shape {expected} for input shape {logp.shape},"
                             f" got {t.shape}")
        idx = t.data
        valid = idx != ignore_index
        if np.any((idx[valid] < 0) | (idx[valid] >= c)):
            raise ValueError(f"target class indices must be in [0, {c}) (or ignore_index={ignore_index}), "
                             f"got values in [{idx.min()}, {idx.max()}]")
        safe = np.where(valid, idx, 0)
        onehot = np.arange(c).reshape(wshape) == np.expand_dims(safe, cdim)  # [N, C, ...]
        w_full = np.ones(c, dtype=logp.dtype) if wvec is None else wvec
        w_y = w_full[safe] * valid  # [N, ...] weight of each target (0 where ignored)
        coeff = (1.0 - eps) * onehot * np.expand_dims(w_y, cdim)
        if eps > 0:
            coeff = coeff + (eps / c) * w_full.reshape(wshape) * np.expand_dims(valid, cdim)
        loss = -(logp * coeff.astype(logp.dtype)).sum(axis=cdim)
        if reduction == "mean":
            denom = float(w_y.sum())
            if denom == 0.0:  # every target ignored: NaN like torch, with a zero (not NaN) gradient
                return loss.sum() * 0.0 + np.asarray(np.nan, dtype=logp.dtype)
            return loss.sum() / np.asarray(denom, dtype=logp.dtype)
        return _reduce(loss, reduction)
    if not np.issubdtype(t.dtype, np.floating):
        raise TypeError(f"target must hold int class indices or float probabilities, got dtype {t.dtype}")
    same_shape(logp, t, "input", "target (probabilities)")
    q = t * (1.0 - eps) + eps / c if eps > 0 else t
    prod = logp * q if wvec is None else logp * q * wvec.reshape(wshape)
    loss = -prod.sum(axis=cdim)
    if reduction == "mean":
        return loss.sum() / np.asarray(logp.numel() // c, dtype=logp.dtype)
    return _reduce(loss, reduction)


def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from raw logits (``torch.nn.functional.cross_entropy``).

    Args:
        input: logits ``[N, C]``, ``[N, C, d1, ...]`` or ``[C]``, floating.
        target: int class indices ``[N, d1, ...]`` (values in ``[0, C)`` or ``ignore_index``) or float
            class probabilities of ``input``'s shape.
        weight: per-class weights ``[C]`` or None.
        reduction: ``"none"`` (per-sample ``[N, d1, ...]``), ``"mean"``, ``"sum"``.
        label_smoothing: ``ε ∈ [0, 1]`` — the target becomes ``(1−ε)·y + ε/C`` (Szegedy et al. 2016).
    """
    x = float_tensor(input, "input")
    cdim = 0 if x.ndim == 1 else 1
    return _nll(log_softmax(x, dim=cdim), target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (class-index targets as :func:`cross_entropy`)."""
    return _nll(float_tensor(input, "input"), target, weight, ignore_index, reduction, 0.0)


class BCEFunction(Function):
    """Elementwise ``−w·(y·log x + (1−y)·log(1−x))`` with both logs clamped at −100 (torch's rule).

    ``∂/∂x = w·(x − y) / max(x(1−x), 1e−12)`` (torch's clamp); ``∂/∂y = −w·logit(x)``.
    """

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], y: NDArray[Any]) -> NDArray[Any]:
        with np.errstate(divide="ignore"):
            logx = np.maximum(np.log(x), -100.0)
            log1mx = np.maximum(np.log1p(-x), -100.0)
        ctx.save_for_backward(x, y)
        return -(y * logx + (1.0 - y) * log1mx)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any]:
        x, y = ctx.saved
        gx = grad * (x - y) / np.maximum(x * (1.0 - x), 1e-12) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = -grad * (np.log(x) - np.log1p(-x))
        return gx, gy


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """BCE of probabilities ``input ∈ [0, 1]`` and targets of the same shape; ``weight`` broadcasts."""
    x, y = float_tensor(input, "input"), float_tensor(target, "target")
    same_shape(x, y, "input", "target")
    check_reduction(reduction)
    if np.any((x.data < 0) | (x.data > 1)):
        raise ValueError(f"input must hold probabilities in [0, 1], got values in [{x.data.min()}, {x.data.max()}]")
    loss = BCEFunction.apply(x, y)
    w = optional_float(weight, "weight")
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction)


class BCEWithLogitsFunction(Function):
    """Elementwise ``(1−y)·x + l·softplus(−x)``, ``l = 1 + (pos_weight − 1)·y``; ``softplus(−x)`` is
    evaluated as ``log1p(e^(−|x|)) + max(−x, 0)`` (stable).

    ``∂/∂x = (1 − y) − l·σ(−x)``; ``∂/∂y = −x + (pos_weight − 1)·softplus(−x)``.
    """

    @staticmethod
    def forward(ctx: Context, x: NDArray[Any], y: NDArray[Any], pos_weight: NDArray[Any]) -> NDArray[Any]:
        sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # softplus(−x)
        lw = 1.0 + (pos_weight - 1.0) * y
        ctx.save_for_backward(x, y, pos_weight, sp, lw)
        return (1.0 - y) * x + lw * sp

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> tuple[Any, Any, None]:
        x, y, pw, sp, lw = ctx.saved
        gx = grad * ((1.0 - y) - lw * _sigmoid(-x)) if ctx.needs_input_grad[0] else None
        gy = grad * (-x + (pw - 1.0) * sp) if ctx.needs_input_grad[1] else None
        return gx, gy, None


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """BCE on logits (sigmoid fused in, stable for any magnitude). ``pos_weight`` (broadcast over the last,
    class, axis) multiplies the positive term; ``weight`` multiplies the whole elementwise loss."""
    x, y = float_tensor(input, "input"), float_tensor(target, "target")
    same_shape(x, y, "input", "target")
    check_reduction(reduction)
    if pos_weight is None:
        pw = np.ones((), dtype=x.dtype)
    else:
        pw = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight, dtype=x.dtype)
        try:
            np.broadcast_shapes(pw.shape, x.shape)
        except ValueError:
            raise ValueError(f"pos_weight shape {pw.shape} does not broadcast to input shape {x.shape}") from None
    loss = BCEWithLogitsFunction.apply(x, y, pw)
    w = optional_float(weight, "weight")
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction)


def _pair_loss_args(input: Any, target: Any, reduction: str) -> tuple[Tensor, Tensor]:
    x, y = float_tensor(input, "input"), float_tensor(target, "target")
    same_shape(x, y, "input", "target")
    check_reduction(reduction)
    return x, y


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(x − y)²`` (L2); ``∂/∂x = 2(x − y)``."""
    x, y = _pair_loss_args(input, target, reduction)
    d = x - y
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|x − y|`` (L1); ``∂/∂x = sign(x − y)`` (0 at a tie)."""
    x, y = _pair_loss_args(input, target, reduction)
    return _reduce((x - y).abs(), reduction)


class SmoothL1Function(Function):
    """``0.5 d²/β`` for ``|d| < β`` else ``|d| − 0.5β`` (Fast R-CNN); ``∂/∂d = d/β`` or ``sign(d)``."""

    @staticmethod
    def forward(ctx: Context, d: NDArray[Any], beta: float) -> NDArray[Any]:
        ad = np.abs(d)
        small = ad < beta
        ctx.save_for_backward(d, small)
        ctx.beta = beta
        return np.where(small, 0.5 * d * d / beta if beta > 0 else 0.0, ad - 0.5 * beta)

    @staticmethod
    def backward(ctx: Context, grad: NDArray[Any]) -> NDArray[Any]:
        d, small = ctx.saved
        return grad * np.where(small, d / ctx.beta if ctx.beta > 0 else 0.0, np.sign(d))


def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 (Huber / β): quadratic inside ``|x − y| < β``, linear outside; ``beta = 0`` is L1."""
    x, y = _pair_loss_args(input, target, reduction)
    if not beta >= 0:
        raise ValueError(f"beta must be ≥ 0, got {beta!r}")
    return _reduce(SmoothL1Function.apply(x - y, beta=float(beta)), reduction)


def sigmoid_focal_loss(inputs: Any, targets: Any, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> Tensor:
    """Focal loss (Lin et al. 2017), ``torchvision.ops.sigmoid_focal_loss`` semantics.

    ``p_t = p·y + (1−p)(1−y)``, ``FL = α_t (1 − p_t)^γ · BCE_logits(x, y)``, ``α_t = α·y + (1−α)(1−y)``
    (no α weighting when ``alpha < 0``). γ = 0, α < 0 gives plain BCE. Default reduction ``"none"``.
    """
    x, y = _pair_loss_args(inputs, targets, reduction)
    if gamma < 0:
        raise ValueError(f"gamma must be ≥ 0, got {gamma!r}")
    p = sigmoid(x)
    ce = binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1.0 - p) * (1.0 - y)
    loss = ce * ((1.0 - p_t) ** gamma)
    if alpha >= 0:
        loss = (y * alpha + (1.0 - y) * (1.0 - alpha)) * loss
    return _reduce(loss, reduction)
