"""Pieces of the training engine: shift augmentation, seeding, config validation."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from dlprimer.augment import random_shift
from dlprimer.train import TrainConfig, seed_everything
from dlprimer.train.seed import rng_state, set_rng_state


def naive_shift(images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, fill: float) -> torch.Tensor:
    """Reference: move each image by (dy, dx) pixels with a Python loop over pixels."""
    n, c, h, w = images.shape
    out = torch.full_like(images, fill)
    for i in range(n):
        for y in range(h):
            for x in range(w):
                sy, sx = y - int(dy[i]), x - int(dx[i])
                if 0 <= sy < h and 0 <= sx < w:
                    out[i, :, y, x] = images[i, :, sy, sx]
    return out


def test_random_shift_equals_naive_reference():
    images = torch.randn(5, 2, 7, 6, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(3)
    shifted = random_shift(images, 2, g, fill=-0.5)
    off = torch.randint(0, 5, (2, 5), generator=torch.Generator().manual_seed(3))  # the offsets it drew
    # padded coordinates: output row y reads padded row y + oy, i.e. input row y + oy − 2: a move by 2 − oy
    expected = naive_shift(images, 2 - off[0], 2 - off[1], -0.5)
    assert torch.equal(shifted, expected)
    assert torch.equal(random_shift(images, 0, g), images)


def test_seed_everything_reproduces_all_generators_and_state_roundtrip():
    seed_everything(11)
    a = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    seed_everything(11)
    b = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    assert a == b
    state = rng_state()
    c = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    set_rng_state(state)
    d = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    assert c == d
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-3)


def test_config_roundtrip_and_unknown_keys():
    cfg = TrainConfig(epochs=3, lr=0.1, name="n")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config keys: bogus"):
        TrainConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="name must be a plain folder name"):
        TrainConfig(name="../x").validate()
    with pytest.raises(ValueError, match="clip_grad"):
        TrainConfig(clip_grad=0.0).validate()


def test_learning_rate_default_depends_on_the_data_and_an_explicit_value_wins():
    from dlprimer.train.config import DATA_DEFAULTS

    assert TrainConfig().lr is None  # "not given": filled in by validate()
    assert TrainConfig().validate().lr == DATA_DEFAULTS["digits"]["lr"] == 0.05
    assert TrainConfig(data="photos").validate().lr == DATA_DEFAULTS["folder"]["lr"] == 0.005
    assert TrainConfig(data="photos", lr=0.2).validate().lr == 0.2
    assert TrainConfig(lr=0.003).validate().lr == 0.003
    cfg = TrainConfig(data="photos").validate()
    assert TrainConfig.from_dict(cfg.to_dict()).validate() == cfg  # config.json records the value used
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(data="photos", lr=0.0).validate()
