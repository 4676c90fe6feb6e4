"""``MixingDataset``: the dataset wrapper through which mosaic, mixup and copy-paste draw extra samples.

``MixingDataset(base, mixes=[Mosaic(...)], transform=Compose([...]), seed=0)[i]``:

1. draws a generator seeded from ``(seed, epoch, i)`` (so item ``i`` is reproducible, differs per epoch via
   :meth:`set_epoch`, and does not depend on the worker or on the order of access);
2. loads ``base[i]`` (a sample dict or an ``(image, target_dict)`` pair), then applies ``pre_transform``;
3. for each multi-sample transform in ``mixes``, with probability ``p_mix``, draws
   ``num_samples - 1`` random other indices, loads (and pre-transforms) them and combines them with the
   current sample;
4. applies ``transform`` (single-sample random transforms).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from dlprimer.augment._base import MultiSampleTransform
from dlprimer.augment._checks import bernoulli, check_probability
from dlprimer.augment.sample import Sample

__all__ = ["MixingDataset", "as_sample"]


def as_sample(item: object) -> Sample:
    """A sample dict from a dataset item: a dict (copied) or an ``(image, target dict)`` pair (merged)."""
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], Mapping):
        return {"image": item[0], **item[1]}
    if isinstance(item, torch.Tensor):
        return {"image": item}
    raise TypeError(f"dataset items must be sample dicts or (image, target dict) pairs, got {type(item).__name__}")


class MixingDataset(torch.utils.data.Dataset):
    """Wrap ``dataset`` (anything with ``__len__`` and ``__getitem__``) with multi-sample mixing and transforms."""

    def __init__(
        self,
        dataset: Any,
        mixes: MultiSampleTransform | Sequence[MultiSampleTransform] = (),
        transform: Callable[..., Sample] | None = None,
        pre_transform: Callable[..., Sample] | None = None,
        p_mix: float = 1.0,
        seed: int = 0,
    ) -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"dataset must have __len__ and __getitem__, got {type(dataset).__name__}")
        if len(dataset) == 0:
            raise ValueError("dataset must not be empty")
        if isinstance(mixes, MultiSampleTransform):
            mixes = [mixes]
        if not all(isinstance(m, MultiSampleTransform) for m in mixes):
            raise TypeError("mixes must be multi-sample transforms (Mosaic, DetectionMixUp, CopyPaste)")
        self.dataset, self.mixes = dataset, list(mixes)
        self.transform, self.pre_transform = transform, pre_transform
        self.p_mix = check_probability(p_mix, "p_mix")
        self.seed, self.epoch = int(seed), 0

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Change the random stream of every item (call once per epoch)."""
        self.epoch = int(epoch)

    def generator(self, index: int) -> torch.Generator:
        """The generator item ``index`` uses in the current epoch."""
        state = np.random.SeedSequence([self.seed, self.epoch, int(index)]).generate_state(1, dtype=np.uint64)[0]
        return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)

    def _load(self, index: int, generator: torch.Generator) -> Sample:
        sample = as_sample(self.dataset[index])
        return self.pre_transform(sample, generator) if self.pre_transform is not None else sample

    def __getitem__(self, index: int) -> Sample:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} items")
        index = index % n
        g = self.generator(index)
        sample = self._load(index, g)
        for mix in self.mixes:
            if not bernoulli(self.p_mix, g):
                continue
            extra = torch.randint(0, n, (mix.num_samples - 1,), generator=g).tolist()
            sample = mix([sample] + [self._load(j, g) for j in extra], g)
        if self.transform is not None:
            sample = self.transform(sample, g)
        return sample
