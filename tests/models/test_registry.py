"""The model registry and LeNet-5."""

from __future__ import annotations

import pytest
import torch

from dlprimer import models


def test_lenet5_shapes_and_parameter_count():
    net = models.create("lenet5", num_classes=10, in_channels=1)
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    # conv1 6·(1·25)+6, conv2 16·(6·25)+16, fc 400·120+120, 120·84+84, 84·10+10 (LeCun et al., 1998)
    expected = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert sum(p.numel() for p in net.parameters()) == expected == 61706
    rgb = models.create("LeNet5", num_classes=3, in_channels=3)
    assert rgb(torch.zeros(1, 3, 28, 28)).shape == (1, 3)


def test_unknown_model_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown model 'lenet6'; known models: .*lenet5"):
        models.create("lenet6")
    with pytest.raises(TypeError, match="model name must be a str"):
        models.create(5)


@pytest.mark.parametrize("kwargs,match", [({"num_classes": 0}, "num_classes"), ({"in_channels": -1}, "in_channels"),
                                          ({"activation": "gelu"}, "activation")])
def test_lenet_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.create("lenet5", **kwargs)


def test_register_rejects_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("lenet5")(lambda **kw: None)
    with pytest.raises(ValueError, match="lower-case"):
        models.register_model("LeNet")


@pytest.mark.parametrize("name", models.list_models())
def test_every_registered_model_takes_num_classes_and_in_channels(name):
    net = models.create(name, num_classes=7, in_channels=2)
    params = dict(net.named_parameters())
    first = next(p for p in params.values() if p.ndim == 4)
    assert first.shape[1] == 2
    assert list(params.values())[-1].shape[0] == 7
