"""Base class of the random sample-level transforms (private)."""

from __future__ import annotations

import torch
from torch import Tensor

from dlprimer.augment.sample import Sample, select_boxes, validate_sample
from dlprimer.boxes.convert import clip_boxes_to_image


def drop_degenerate(sample: Sample) -> Sample:
    """Clip boxes to the image (inputs may poke out by the validation tolerance) and remove boxes of zero
    width or height with their labels, masks and weights: a degenerate box is never emitted."""
    if "boxes" not in sample:
        return sample
    h, w = sample["image"].shape[-2:]
    b = sample["boxes"]
    if b.numel() and bool((b[:, 0::2].amin() < 0) | (b[:, 1::2].amin() < 0) | (b[:, 0::2].amax() > w)
                          | (b[:, 1::2].amax() > h)):
        sample = dict(sample, boxes=clip_boxes_to_image(b, (h, w)))
        b = sample["boxes"]
    keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    return sample if bool(keep.all()) else select_boxes(sample, keep)


class Transform:
    """A random transform of one sample.

    ``t(sample, generator=None)`` validates the sample, draws its parameters from ``generator`` (a CPU
    ``torch.Generator``; ``None`` uses the global RNG) and returns a new sample; the input is never modified.
    A bare image tensor is accepted too and an image tensor is returned. Subclasses implement
    :meth:`forward`.
    """

    #: boxes of the input must lie inside the image
    boxes_inside: bool = True

    def __call__(self, sample: Sample | Tensor, generator: torch.Generator | None = None) -> Sample | Tensor:
        if isinstance(sample, Tensor):
            validate_sample({"image": sample})
            return self._apply({"image": sample}, generator)["image"]
        validate_sample(sample, boxes_inside=self.boxes_inside)
        # degenerate boxes are removed before (a rotated zero-width box would grow an area) and after
        return drop_degenerate(self._apply(drop_degenerate(dict(sample)), generator))

    def _apply(self, sample: Sample, generator: torch.Generator | None) -> Sample:
        """Transform a sample that is already validated and clean (composites chain this: validation runs
        once per pipeline, not once per step; every transform's output is valid by construction)."""
        return self.forward(sample, generator)

    def forward(self, sample: Sample, generator: torch.Generator | None) -> Sample:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class MultiSampleTransform:
    """A random transform combining ``num_samples`` samples into one (mosaic, detection mixup, copy-paste).

    ``t(samples, generator=None)`` takes a sequence of exactly ``num_samples`` samples, the first being the
    *primary* one. :class:`dlprimer.augment.MixingDataset` draws the extra samples from a dataset.
    """

    num_samples: int = 2

    def __call__(self, samples: list[Sample], generator: torch.Generator | None = None) -> Sample:
        if not isinstance(samples, (list, tuple)):
            raise TypeError(f"samples must be a list of sample dicts, got {type(samples).__name__}")
        if len(samples) != self.num_samples:
            raise ValueError(
                f"{type(self).__name__} needs exactly {self.num_samples} samples, got {len(samples)}"
            )
        for k, s in enumerate(samples):
            validate_sample(s, name=f"samples[{k}]")
        return drop_degenerate(self.forward([drop_degenerate(dict(s)) for s in samples], generator))

    def forward(self, samples: list[Sample], generator: torch.Generator | None) -> Sample:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"
