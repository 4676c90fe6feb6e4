"""Dataset / samplers / BatchSampler / DataLoader semantics (every index once, sizes, seeded order)."""

from __future__ import annotations

import numpy as np
import pytest

from dlprimer.scratch import data


def test_sequential_and_random_sampler_cover_every_index_once() -> None:
    ds = data.TensorDataset(np.arange(10.0), np.arange(10))
    assert list(data.SequentialSampler(ds)) == list(range(10))
    rs = data.RandomSampler(ds, generator=np.random.default_rng(0))
    e1, e2 = list(rs), list(rs)
    assert sorted(e1) == sorted(e2) == list(range(10))
    assert e1 != e2  # a fresh permutation each epoch
    # seeded: the same seed gives the same order (numpy's permutation is the oracle)
    assert list(data.RandomSampler(ds, generator=np.random.default_rng(5))) == \
        np.random.default_rng(5).permutation(10).tolist()
    with_repl = list(data.RandomSampler(ds, replacement=True, num_samples=25, generator=np.random.default_rng(0)))
    assert len(with_repl) == 25 and all(0 <= i < 10 for i in with_repl)
    longer = list(data.RandomSampler(ds, num_samples=23, generator=np.random.default_rng(0)))
    assert len(longer) == 23 and sorted(longer[:10]) == list(range(10))


@pytest.mark.parametrize(("n", "bs", "drop_last", "sizes"), [(10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]),
                                                             (9, 3, False, [3, 3, 3]), (2, 5, True, [])])
def test_batch_sampler_sizes(n, bs, drop_last, sizes) -> None:
    bsam = data.BatchSampler(data.SequentialSampler(range(n)), bs, drop_last)
    batches = list(bsam)
    assert [len(b) for b in batches] == sizes and len(bsam) == len(sizes)
    assert sum(batches, []) == list(range(n))[: sum(sizes)]


def test_dataloader_batches_shuffle_and_collate() -> None:
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    y = np.arange(7)
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=3, shuffle=True,
                             generator=np.random.default_rng(0))
    seen = []
    for xb, yb in loader:
        assert xb.dtype == np.float32 and yb.dtype == y.dtype and len(xb) == len(yb) <= 3
        np.testing.assert_array_equal(xb, x[yb])  # features stay paired with labels
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(7)) and len(loader) == 3

    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.array([i, i * i]), "y": i}

    batches = list(data.DataLoader(Squares(), batch_size=2, drop_last=True))
    assert len(batches) == 2
    np.testing.assert_array_equal(batches[1]["x"], [[2, 4], [3, 9]])
    np.testing.assert_array_equal(batches[1]["y"], [2, 3])


def test_random_shift_is_a_translation() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 8, 9)).astype(np.float32)
    out = data.random_shift(x, 2, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    g = np.random.default_rng(1)
    dy, dx = g.integers(0, 5, size=6) - 2, g.integers(0, 5, size=6) - 2
    for i in range(6):  # the interior is the input moved by (−dy, −dx) (content moves opposite to the crop)
        ys = slice(max(0, -dy[i]) + 2, 8 - max(0, dy[i]) - 2)
        xs = slice(max(0, -dx[i]) + 2, 9 - max(0, dx[i]) - 2)
        np.testing.assert_array_equal(out[i][:, ys, xs],
                                      x[i][:, ys.start + dy[i] : ys.stop + dy[i], xs.start + dx[i] : xs.stop + dx[i]])
    np.testing.assert_array_equal(data.random_shift(x, 0), x)


def test_data_bad_inputs() -> None:
    with pytest.raises(ValueError, match="same first dimension"):
        data.TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        data.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        data.DataLoader(data.TensorDataset(np.zeros(3)), shuffle=True, sampler=data.SequentialSampler(range(3)))
    with pytest.raises(ValueError, match="num_samples"):
        data.RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match=r"images must be \[N, C, H, W\]"):
        data.random_shift(np.zeros((3, 4)), 1)
