"""The embedded digits: split sizes and stratification, determinism, train-only statistics, resizing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits

from dlprimer.data.digits import load_digits, load_digits_arrays, resize_bilinear


def test_split_sizes_stratified_and_disjoint():
    s = load_digits_arrays(seed=0, size=32)
    n = [s.train.labels.size, s.val.labels.size, s.test.labels.size]
    assert sum(n) == 1797
    assert n == pytest.approx([0.7 * 1797, 0.1 * 1797, 0.2 * 1797], abs=2)
    overall = np.bincount(sk_load_digits().target) / 1797
    for part in (s.train, s.val, s.test):
        share = np.bincount(part.labels, minlength=10) / part.labels.size
        assert np.abs(share - overall).max() < 0.02  # stratified
        assert part.images.shape == (part.labels.size, 1, 32, 32) and part.images.dtype == np.float32


def test_splits_partition_the_original_images():
    raw = sk_load_digits()
    s = load_digits_arrays(seed=1, size=8)  # size 8: resizing is the identity
    ims = np.concatenate([p.images[:, 0] for p in (s.train, s.val, s.test)]) * s.std + s.mean
    keys = {np.round(im * 16).astype(int).tobytes() for im in ims}
    assert keys == {im.astype(int).tobytes() for im in raw.images}


def test_deterministic_by_seed_and_different_across_seeds():
    a, b, c = load_digits_arrays(seed=2), load_digits_arrays.__wrapped__(seed=2), load_digits_arrays(seed=3)
    assert np.array_equal(a.test.images, b.test.images) and np.array_equal(a.train.labels, b.train.labels)
    assert not np.array_equal(a.test.images, c.test.images)


def test_normalization_statistics_come_from_the_training_split_only():
    s = load_digits_arrays(seed=0, size=16)
    train_raw = s.train.images.astype(np.float64) * s.std + s.mean
    assert train_raw.mean() == pytest.approx(s.mean, abs=1e-6)
    assert train_raw.std() == pytest.approx(s.std, abs=1e-6)
    assert s.train.images.mean() == pytest.approx(0.0, abs=1e-5)
    assert abs(s.test.images.mean()) > 1e-5  # the test split is normalized with the train statistics


@pytest.mark.parametrize("size", [8, 13, 32, 57])
def test_resize_equals_torch_bilinear(size):
    rng = np.random.default_rng(size)
    images = rng.random((3, 8, 8))
    ours = resize_bilinear(images, size)
    theirs = torch.nn.functional.interpolate(torch.from_numpy(images)[:, None], size=(size, size), mode="bilinear",
                                             align_corners=False)[:, 0].numpy()
    assert ours.shape == theirs.shape == (3, size, size)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_torch_datasets():
    train, val, test = load_digits(seed=0, size=32)
    image, label = train[5]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32 and isinstance(label, int)
    assert len(train) + len(val) + len(test) == 1797
    assert train.mean == val.mean == test.mean


@pytest.mark.parametrize("kwargs,match", [({"seed": -1}, "seed"), ({"size": 4}, "size"), ({"size": 3.5}, "size")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits_arrays(**kwargs)
