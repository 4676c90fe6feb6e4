"""Batch mixing: mixup and cutmix (notes: 数据增强 8 mixup, 9 cutMix), and detection mixup of two samples.

Batches are ``images [B, C, H, W]`` with ``targets [B, K]`` (soft or one-hot) or integer ``labels [B]``.
Sample ``b`` is mixed with its partner ``b - 1`` (``torch.roll`` by one, as torchvision's v2 ``MixUp``), so
every batch size works, odd ones included (a batch of 1 is mixed with itself: unchanged).

* mixup (Zhang et al., 2018): ``x = λ x_b + (1 - λ) x_{b-1}``, ``y = λ y_b + (1 - λ) y_{b-1}``, ``λ ~ Beta(α, α)``.
* cutmix (Yun et al., 2019): a box of ``x_{b-1}`` (side ``sqrt(1 - λ)`` times the image's, centre uniform,
  clipped to the image) is pasted into ``x_b``; the target weight is recomputed *after clipping* as
  ``λ = 1 - pasted area / image area``.

Targets' weights ``λ`` and ``1 - λ`` sum to 1. Label smoothing is explicit: integer labels become one-hot
targets, smoothed only when ``label_smoothing > 0`` is passed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from dlprimer._checks import is_int_like
from dlprimer.augment._base import MultiSampleTransform
from dlprimer.augment._checks import check_image, check_nonnegative, check_probability, uniform
from dlprimer.augment.label_smoothing import smooth_labels
from dlprimer.augment.sample import Sample, validate_sample

__all__ = ["CutMix", "DetectionMixUp", "MixUp", "beta", "cutmix", "mixup", "mixup_samples"]


def beta(alpha: float, generator: torch.Generator | None = None) -> float:
    """One draw of ``Beta(α, α)``, reproducible from the torch ``generator`` (a seed for NumPy's sampler)."""
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def _targets(labels: Tensor, num_classes: int | None, label_smoothing: float, batch: int) -> Tensor:
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.shape[0] != batch:
        raise ValueError(f"labels must have one row per image ({batch}), got shape {tuple(labels.shape)}")
    return smooth_labels(labels, num_classes, label_smoothing)


def _blend(a: Tensor, b: Tensor, lam: float) -> Tensor:
    out = a.to(torch.float32 if not a.is_floating_point() else a.dtype) * lam + b * (1.0 - lam)
    return out if a.is_floating_point() else out.round_().clamp_(0, 255).to(a.dtype)


def _check_batch(images: Tensor, targets: Tensor) -> None:
    check_image(images, "images", batched=True)
    if not isinstance(targets, Tensor) or targets.ndim != 2 or targets.shape[0] != images.shape[0]:
        raise ValueError(
            f"targets must be [B, K] with B = {images.shape[0]}, got "
            f"{tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__}"
        )


def mixup(images: Tensor, targets: Tensor, lam: float) -> tuple[Tensor, Tensor]:
    """Mix each image and target with its predecessor in the batch with weights ``λ``, ``1 - λ``.
    uint8 images are rounded back to uint8."""
    _check_batch(images, targets)
    lam = check_probability(lam, "lam")
    mixed = _blend(images, images.roll(1, dims=0), lam)
    return mixed, targets * lam + targets.roll(1, dims=0) * (1.0 - lam)


def cutmix(images: Tensor, targets: Tensor, box: Sequence[int]) -> tuple[Tensor, Tensor, float]:
    """Paste ``box = (x1, y1, x2, y2)`` (pixels, clipped to the image) from each image's predecessor.

    Returns ``(images, targets, λ)`` with ``λ = 1 - area(clipped box) / (H W)`` and targets mixed by λ.
    """
    _check_batch(images, targets)
    h, w = images.shape[-2:]
    x1, y1, x2, y2 = (int(v) for v in box)
    x1, x2 = max(0, min(x1, w)), max(0, min(x2, w))
    y1, y2 = max(0, min(y1, h)), max(0, min(y2, h))
    x2, y2 = max(x1, x2), max(y1, y2)
    out = images.clone()
    out[..., y1:y2, x1:x2] = images.roll(1, dims=0)[..., y1:y2, x1:x2]
    lam = 1.0 - (x2 - x1) * (y2 - y1) / (h * w)
    return out, targets * lam + targets.roll(1, dims=0) * (1.0 - lam), lam


class _BatchMix:
    """Shared by MixUp and CutMix: checks, one-hot (optionally smoothed) targets, the ``p`` gate; the
    subclass's ``_mix(images, targets, generator)`` does the mixing."""

    def __init__(
        self, alpha: float = 1.0, num_classes: int | None = None, label_smoothing: float = 0.0, p: float = 1.0
    ) -> None:
        self.alpha = check_nonnegative(alpha, "alpha")
        if self.alpha == 0:
            raise ValueError("alpha must be > 0 (Beta(alpha, alpha)), got 0")
        if num_classes is not None and (not is_int_like(num_classes) or num_classes < 1):
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        self.num_classes = num_classes
        self.label_smoothing = check_probability(label_smoothing, "label_smoothing")
        self.p = check_probability(p)

    def __call__(
        self, images: Tensor, labels: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        check_image(images, "images", batched=True)
        targets = _targets(labels, self.num_classes, self.label_smoothing, images.shape[0]).to(images.device)
        if uniform(0.0, 1.0, generator) >= self.p:
            return images.clone(), targets
        return self._mix(images, targets, generator)

    def _mix(self, images: Tensor, targets: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes}, "
                f"label_smoothing={self.label_smoothing}, p={self.p})")


class MixUp(_BatchMix):
    """``MixUp(alpha, num_classes)(images, labels, generator) -> (images, targets)``; with probability
    ``1 - p`` the batch is returned unmixed (targets still one-hot / smoothed)."""

    def _mix(self, images: Tensor, targets: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        return mixup(images, targets, beta(self.alpha, generator))


class CutMix(_BatchMix):
    """``CutMix(alpha, num_classes)(images, labels, generator) -> (images, targets)``; the box has side
    ``sqrt(1 - λ0)`` of the image's with ``λ0 ~ Beta(α, α)``, centre uniform; the targets use the λ
    recomputed after clipping."""

    def get_box(self, h: int, w: int, lam: float, generator: torch.Generator | None) -> tuple[int, int, int, int]:
        """Unclipped-centre box ``(x1, y1, x2, y2)`` of half-sides ``int(r W), int(r H)``, ``r = sqrt(1-λ)/2``."""
        cx, cy = int(uniform(0, w, generator)), int(uniform(0, h, generator))
        r = 0.5 * (1.0 - lam) ** 0.5
        hw, hh = int(r * w), int(r * h)
        return cx - hw, cy - hh, cx + hw, cy + hh

    def _mix(self, images: Tensor, targets: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        lam0 = beta(self.alpha, generator)
        box = self.get_box(images.shape[-2], images.shape[-1], lam0, generator)
        out, mixed, _ = cutmix(images, targets, box)
        return out, mixed


# ------------------------------------------------------------------------------------ detection mixup
def mixup_samples(a: Sample, b: Sample, lam: float) -> Sample:
    """Detection mixup of two samples of the same image size: ``image = λ a + (1 - λ) b``; boxes and labels
    of both are kept (concatenated) and ``box_weights`` (default 1) are multiplied by ``λ`` and ``1 - λ``,
    so the weights of the two sources sum to 1. Masks are concatenated when both samples have them, and
    removed when only one has."""
    lam = check_probability(lam, "lam")
    validate_sample(a, name="a")
    validate_sample(b, name="b")
    ia, ib = a["image"], b["image"]
    if ia.shape != ib.shape or ia.dtype != ib.dtype:
        raise ValueError(
            f"mixup needs images of the same shape and dtype, got {tuple(ia.shape)} {ia.dtype} and "
            f"{tuple(ib.shape)} {ib.dtype} (resize first)"
        )
    for key in ("boxes", "labels"):
        if (key in a) != (key in b):
            raise ValueError(f"mixup needs {key!r} on both samples or on neither")
    out = {k: v for k, v in a.items() if k not in ("boxes", "labels", "masks", "box_weights")}
    out["image"] = _blend(ia, ib, lam)
    if "boxes" not in a:
        return out
    ba, bb = a["boxes"], b["boxes"].to(a["boxes"].dtype)
    out["boxes"] = torch.cat([ba, bb])  # [Na + Nb, 4]
    if "labels" in a:
        out["labels"] = torch.cat([a["labels"], b["labels"].to(a["labels"].dtype)])
    wa = a.get("box_weights", torch.ones(ba.shape[0], dtype=ba.dtype, device=ba.device))
    wb = b.get("box_weights", torch.ones(bb.shape[0], dtype=ba.dtype, device=ba.device))
    out["box_weights"] = torch.cat([wa * lam, wb.to(wa.dtype) * (1.0 - lam)])
    if "masks" in a and "masks" in b:
        out["masks"] = torch.cat([a["masks"], b["masks"].to(a["masks"].dtype)])
    return out


class DetectionMixUp(MultiSampleTransform):
    """Mix two detection samples with ``λ ~ Beta(α, α)`` (YOLOX uses large α, e.g. 8-32, for λ near 1/2);
    the second image is resized to the first's size (boxes scaled). See :func:`mixup_samples`."""

    num_samples = 2

    def __init__(self, alpha: float = 8.0) -> None:
        self.alpha = check_nonnegative(alpha, "alpha")
        if self.alpha == 0:
            raise ValueError("alpha must be > 0 (Beta(alpha, alpha)), got 0")

    def forward(self, samples: list[Sample], generator: torch.Generator | None) -> Sample:
        from dlprimer.augment.geometric import resize_sample

        a, b = samples
        if b["image"].shape[-2:] != a["image"].shape[-2:]:
            b = resize_sample(b, tuple(a["image"].shape[-2:]))
        if b["image"].dtype != a["image"].dtype or b["image"].shape[0] != a["image"].shape[0]:
            raise ValueError(
                f"mixup needs images of the same channels and dtype, got {tuple(a['image'].shape)} "
                f"{a['image'].dtype} and {tuple(b['image'].shape)} {b['image'].dtype}"
            )
        return mixup_samples(a, b, beta(self.alpha, generator))
