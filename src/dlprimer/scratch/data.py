"""Dataset / Sampler / BatchSampler / DataLoader (notes: dataloader, dataset, sampler), torch.utils.data's design.

* a ``Dataset`` maps an index to a sample (``__getitem__``, ``__len__``);
* a ``Sampler`` yields indices — in order (:class:`SequentialSampler`) or shuffled from a seeded NumPy
  ``Generator`` (:class:`RandomSampler`: a fresh permutation every epoch, each index exactly once);
* a :class:`BatchSampler` groups indices into lists of ``batch_size`` (the last one shorter, or dropped
  with ``drop_last``);
* the :class:`DataLoader` fetches each batch's samples and collates them (``default_collate`` stacks
  arrays along a new axis 0, recursing into tuples/lists/dicts). A :class:`TensorDataset` batch is fetched
  with one fancy-indexing per array instead of sample by sample.

Workers/pinning do not exist here (single process); see the torch engine for those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from dlprimer._checks import is_int_like
from dlprimer.scratch import _random


class Dataset:
    """Abstract map-style dataset: subclasses implement ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples ``(a[i], b[i], ...)`` of arrays sharing their first dimension."""

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(np.asarray(a.data if hasattr(a, "data") and not isinstance(a, np.ndarray) else a)
                            for a in arrays)
        n = len(self.arrays[0])
        if any(len(a) != n for a in self.arrays):
            raise ValueError(f"all arrays must have the same first dimension, got {[a.shape for a in self.arrays]}")

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])


class Sampler:
    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Indices ``0, 1, …, len(data_source) − 1``."""

    def __init__(self, data_source: Sequence[Any] | Dataset) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Shuffled indices from ``generator`` (default: the engine's).

    Without replacement: a new permutation each epoch (each index exactly once; ``num_samples`` may
    exceed ``len`` — whole permutations are concatenated). With replacement: ``num_samples`` uniform draws.
    """

    def __init__(self, data_source: Sequence[Any] | Dataset, replacement: bool = False,
                 num_samples: int | None = None, generator: np.random.Generator | None = None) -> None:
        self.data_source, self.replacement = data_source, replacement
        self._num_samples = num_samples
        if num_samples is not None and (not is_int_like(num_samples)
                                        or num_samples < 1):
            raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
        self.generator = _random.resolve(generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        if self.replacement:
            idx = self.generator.integers(0, n, size=k)
        else:
            reps = -(-k // n) if n else 0
            idx = np.concatenate([self.generator.permutation(n) for _ in range(reps)])[:k] if n else np.empty(0, int)
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of ``batch_size``; ``drop_last`` drops a final short batch."""

    def __init__(self, sampler: Sampler | Sequence[int], batch_size: int, drop_last: bool) -> None:
        if not is_int_like(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def default_collate(samples: list[Any]) -> Any:
    """Stack a list of samples: arrays/numbers → ``np.stack`` (new axis 0); tuples/lists/dicts recurse."""
    first = samples[0]
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(group)) for group in zip(*samples, strict=True)) \
            if isinstance(first, tuple) else [default_collate(list(g)) for g in zip(*samples, strict=True)]
    return np.stack([np.asarray(s) for s in samples])


class DataLoader:
    """Iterate over batches of ``dataset``.

    Args:
        dataset: a :class:`Dataset` (or any object with ``__getitem__``/``__len__``).
        batch_size: samples per batch. shuffle: use a :class:`RandomSampler` (seeded by ``generator``).
        sampler / batch_sampler: custom index order (mutually exclusive with ``shuffle``).
        drop_last: drop the final short batch. collate_fn: list of samples → batch.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, sampler: Sampler | None = None,
                 batch_sampler: BatchSampler | None = None, drop_last: bool = False,
                 collate_fn: Callable[[list[Any]], Any] | None = None,
                 generator: np.random.Generator | None = None) -> None:
        if sampler is not None and shuffle:
            raise ValueError("sampler is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("batch_sampler is mutually exclusive with batch_size, shuffle, sampler and drop_last")
        self.dataset = dataset
        if batch_sampler is None:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batch_size = batch_size if batch_sampler is not None else None
        self.collate_fn = collate_fn

    def __iter__(self) -> Iterator[Any]:
        for indices in self.batch_sampler:
            if self.collate_fn is None and isinstance(self.dataset, TensorDataset):
                idx = np.asarray(indices, dtype=np.int64)
                yield tuple(a[idx] for a in self.dataset.arrays)
                continue
            samples = [self.dataset[i] for i in indices]
            yield (self.collate_fn or default_collate)(samples)

    def __len__(self) -> int:
        return len(self.batch_sampler)


def random_shift(images: Any, max_shift: int, generator: np.random.Generator | None = None) -> Any:
    """Translate each image of ``[N, C, H, W]`` by its own random ``(dy, dx) ∈ [−max_shift, max_shift]²``.

    The borders are filled by replicating the edge pixels (for normalized digits: the background value).
    Vectorized: one edge-pad and one fancy-indexed gather for the whole batch. Returns a new array of the
    same shape and dtype.
    """
    x = np.asarray(images)
    if x.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {x.shape}")
    if not is_int_like(max_shift) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
    if max_shift == 0 or len(x) == 0:
        return x.copy()
    rng = _random.resolve(generator)
    n, c, h, w = x.shape
    s = int(max_shift)
    padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)), mode="edge")  # [N, C, H+2s, W+2s]
    dy = rng.integers(0, 2 * s + 1, size=n)
    dx = rng.integers(0, 2 * s + 1, size=n)
    rows = dy[:, None] + np.arange(h)[None, :]  # [N, H]
    cols = dx[:, None] + np.arange(w)[None, :]  # [N, W]
    out = padded[np.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # [N, H, W, C]
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
