"""Scratch models whose parameter names and shapes equal the torch models of ``dlprimer.models``, so
``state_dict`` s convert one-to-one (``torch_sd[k].numpy()`` ↔ ``scratch_sd[k]``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlprimer._checks import is_int_like
from dlprimer.scratch import nn


def lenet5(num_classes: int = 10, in_channels: int = 1, activation: str = "relu", dtype: Any = np.float32,
           generator: np.random.Generator | None = None) -> nn.Sequential:
    """LeNet-5 as in ``dlprimer.models.lenet.LeNet5`` (conv5-6, pool, conv5-16, pool, FC 120, 84, classes).

    Parameter names: ``features.0.*``, ``features.3.*``, ``classifier.1.*``, ``classifier.3.*``,
    ``classifier.5.*``. Input ``[N, in_channels, 32, 32]`` (any H, W ≥ 12: an adaptive average pool fixes
    the map at 5×5; the identity at 32×32). Output logits ``[N, num_classes]``.
    """
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    for name, v in (("num_classes", num_classes), ("in_channels", in_channels)):
        if not is_int_like(v) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    act = acts[activation]
    g = generator
    model = nn.Sequential()
    model.features = nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, dtype=dtype, generator=g), act(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, dtype=dtype, generator=g), act(), nn.MaxPool2d(2),
    )
    model.avgpool = nn.AdaptiveAvgPool2d((5, 5))
    model.classifier = nn.Sequential(
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120, dtype=dtype, generator=g), act(),
        nn.Linear(120, 84, dtype=dtype, generator=g), act(), nn.Linear(84, num_classes, dtype=dtype, generator=g),
    )
    return model
