"""Receptive fields from the traced graph, checked against back-propagation and published values.

Oracles: the gradient-based measurement (torch autograd on a linearised float64 copy: the box of input
pixels with non-zero gradient from one output position), VGG-16's published field (212, jump 32).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from dlprimer import models
from dlprimer.analysis.receptive_field import profile_with_receptive_fields, receptive_fields
from dlprimer.analysis.rf_gradient import analytic_box, gradient_receptive_field


def _uninitialised(name: str, **kwargs: object) -> nn.Module:
    """A zoo model with uninitialised CPU storage (fast): the gradient check overwrites every weight."""
    with torch.device("meta"):
        net = models.create(name, **kwargs)
    return net.to_empty(device="cpu")


def _compare(net: nn.Module, layer: str, shape: tuple[int, ...], call: int = 0) -> dict:
    field = receptive_fields(net, shape)[layer]
    measured = gradient_receptive_field(net, layer, shape, call=call)
    nd = len(shape) - 1
    rf = field["rf"] if isinstance(field["rf"], list) else [field["rf"]] * nd
    jump = field["jump"] if isinstance(field["jump"], list) else [field["jump"]] * nd
    start = field["start"] if isinstance(field["start"], list) else [field["start"]] * nd
    boxes = [analytic_box(rf[a], jump[a], start[a], measured["position"][a], shape[1 + a]) for a in range(nd)]
    assert boxes == [tuple(b) for b in measured["box"]], f"{layer}: analytic {boxes} vs gradient {measured['box']}"
    return {"field": field, "measured": measured}


def test_vgg16_last_pool_rf_212_jump_32() -> None:
    with torch.device("meta"):
        net = models.create("vgg16")
    table, unknown = profile_with_receptive_fields(net, (3, 224, 224))
    row = table.row("features.30")
    assert (row.rf, row.jump) == (212, 32) and unknown == []
    assert table.row("features.23").rf == 100  # pool4, published


def test_lenet_gradient_check() -> None:
    net = _uninitialised("lenet5")
    for layer in ("features.0", "features.2", "features.3", "features.5"):
        r = _compare(net, layer, (1, 48, 48))
        assert r["measured"]["rf"] == [r["field"]["rf"]] * 2  # fits inside the image
    assert receptive_fields(net, (1, 32, 32))["features.5"]["rf"] == 16  # 5 → 6 → 14 → 16


def test_vgg_gradient_check() -> None:
    net = _uninitialised("vgg11_bn", num_classes=10, small_input=True)  # same trunk, small classifier
    r = _compare(net, "features.14", (3, 64, 64))  # pool3: fits in 64
    assert r["measured"]["rf"] == [30, 30]  # by hand: 3 → 4 → 8 → 10 → 18 → 26 → 30
    _compare(net, "features.28", (3, 64, 64))  # pool5: field 150, clipped by the image


def test_resnet_gradient_check() -> None:
    net = _uninitialised("resnet18")
    r = _compare(net, "layer2", (3, 160, 160))
    assert r["measured"]["rf"] == [99, 99]  # fits; both paths of every block
    _compare(net, "layer1.1.relu", (3, 64, 64), call=1)  # shared ReLU: its 2nd call is the block output


def test_resnet_small_input_gradient_check() -> None:
    net = _uninitialised("resnet18", num_classes=10, in_channels=1, small_input=True)
    _compare(net, "layer3", (1, 64, 64))


def test_densenet_gradient_check() -> None:
    net = _uninitialised("densenet121")
    r = _compare(net, "features.transition1.pool", (3, 80, 80))
    assert r["measured"]["rf"] == [r["field"]["rf"]] * 2
    _compare(net, "features.denseblock2", (3, 48, 48))  # field 255: clipped


def test_googlenet_inception_alignment_and_gradient() -> None:
    net = _uninitialised("googlenet")
    r = _compare(net, "inception3a", (3, 96, 96))
    assert r["field"]["aligned"] is True


def test_misaligned_paths_and_unknown_ops_are_flagged() -> None:
    class Up(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.interpolate(self.conv(x), scale_factor=2.0)

    table, unknown = profile_with_receptive_fields(Up(), (1, 8, 8))
    assert unknown == ["(root):interpolate"]
    assert table.row("conv").rf == 3

    class Shifted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3, padding=1)  # centres at 0, 1, 2 …
            self.b = nn.Conv2d(1, 1, 3, padding=0)  # centres at 1, 2, 3 …

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.a(x)[..., :-2, :-2] + self.b(x)  # paths one pixel apart: misaligned

    net = nn.Sequential(Shifted())
    fields = receptive_fields(net, (1, 12, 12))
    assert fields["0.b"]["start"] == 1 and fields["0.a"]["start"] == 0
    assert fields["0"]["aligned"] is False and fields["0.a"]["aligned"] is True
    assert (fields["0"]["rf"], fields["0"]["start"]) == (4, 0.5)  # union of [p-1, p+1] and [p, p+2]
    measured = gradient_receptive_field(net, "0", (1, 12, 12))
    assert measured["rf"] == [4, 4]
    table, _ = profile_with_receptive_fields(net, (1, 12, 12))
    assert table.row("0:add").rf == 4 and table.row("0:add").aligned is False
    assert table.row("0.a").aligned is True


def test_slicing_shifts_start() -> None:
    class Crop(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)[:, :, 2:, ::2]

    net = nn.Sequential(Crop())
    field = receptive_fields(net, (1, 16, 16))["0"]
    assert field["start"] == [3, 1] and field["jump"] == [1, 2] and field["rf"] == 3
    measured = gradient_receptive_field(net, "0", (1, 16, 16), position=(0, 0))
    assert measured["box"] == [(2, 4), (0, 2)]


def _chain(layers: list[tuple[str, int, int, int, int, bool]]) -> nn.Sequential:
    mods: list[nn.Module] = []
    for kind, k, s, p, d, ceil in layers:
        if kind == "conv":
            mods.append(nn.Conv2d(1, 1, k, s, p, d))
        elif kind == "max":
            mods.append(nn.MaxPool2d(k, s, min(p, k // 2), d, ceil_mode=ceil))
        else:
            mods.append(nn.AvgPool2d(k, s, min(p, k // 2), ceil_mode=ceil))
    return nn.Sequential(*mods)


layer_st = st.tuples(
    st.sampled_from(["conv", "max", "avg"]),
    st.integers(1, 4),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(layer_st, min_size=1, max_size=5))
def test_random_chains_analytic_equals_gradient(layers: list) -> None:
    net = _chain(layers)
    size = 48
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, 1, size, size))
    except RuntimeError:
        out = None  # the chain is invalid for this size
    assume(out is not None and out.shape[-1] >= 1)
    last = str(len(layers) - 1)
    field = receptive_fields(net, (1, size, size))[last]
    measured = gradient_receptive_field(net, last, (1, size, size))
    pos = measured["position"][0]
    expected = analytic_box(field["rf"], field["jump"], field["start"], pos, size)
    centre = field["start"] + pos * field["jump"]
    inside = centre - (field["rf"] - 1) / 2 >= 0 and centre + (field["rf"] - 1) / 2 <= size - 1
    first, last = measured["box"][0]
    if inside:  # the extreme taps of a field are always real connections: the box is exact
        assert (first, last) == expected, (layers, field, measured)
    else:  # clipped by the border; a strided field with holes (k < s) may miss the clipped edge pixels
        assert expected[0] <= first <= last <= expected[1], (layers, field, measured)


def test_gradient_check_bad_arguments() -> None:
    net = models.create("lenet5")
    with pytest.raises(ValueError, match="layer must be a module name"):
        gradient_receptive_field(net, "nope", (1, 32, 32))
    with pytest.raises(ValueError, match="position"):
        gradient_receptive_field(net, "features.0", (1, 32, 32), position=(100, 0))
    with pytest.raises(ValueError, match="call"):
        gradient_receptive_field(net, "features.0", (1, 32, 32), call=-2)
    with pytest.raises(TypeError, match="nn.Module"):
        receptive_fields("lenet5", (1, 32, 32))  # type: ignore[arg-type]
