"""Complexity table: params / MACs / FLOPs / other ops per layer.

Oracles: torchvision's documented GFLOPS (``Weights.meta["_ops"]``, really GMACs) and parameter counts
(``meta["num_params"]``), torch's ``FlopCounterMode`` (2 FLOPs per MAC for conv / linear / matmul),
``nn.Module.parameters()``, and hand-worked counts.
"""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlprimer import models
from dlprimer.analysis.complexity import (
    bn_params_notes,
    conv_flops_notes,
    conv_macs_notes,
    conv_params_notes,
    linear_flops_notes,
    linear_params_notes,
    parse_input_shape,
    profile,
)

DOCUMENTED = {
    "alexnet": tvm.AlexNet_Weights.IMAGENET1K_V1,
    "googlenet": tvm.GoogLeNet_Weights.IMAGENET1K_V1,
    "resnet18": tvm.ResNet18_Weights.IMAGENET1K_V1,
    "resnet50": tvm.ResNet50_Weights.IMAGENET1K_V1,
    "densenet121": tvm.DenseNet121_Weights.IMAGENET1K_V1,
    "vgg16_bn": tvm.VGG16_BN_Weights.IMAGENET1K_V1,
    "resnext50_32x4d": tvm.ResNeXt50_32X4D_Weights.IMAGENET1K_V1,
    "densenet201": tvm.DenseNet201_Weights.IMAGENET1K_V1,
}


@pytest.fixture(scope="module")
def tables() -> dict:
    out = {}
    for name in DOCUMENTED:
        with torch.device("meta"):
            net = models.create(name)
        out[name] = (net, profile(net, (3, 224, 224)))
    return out


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_macs_within_one_percent_of_torchvision_gflops(name: str, tables: dict) -> None:
    _, table = tables[name]
    documented = DOCUMENTED[name].meta["_ops"] * 1e9
    assert abs(table.total.macs - documented) / documented < 0.01, (table.total.macs, documented)
    assert table.total.flops == 2 * table.total.macs
    assert table.total.uncounted == []


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_params_equal_torchvision_and_rows_sum_to_total(name: str, tables: dict) -> None:
    net, table = tables[name]
    assert table.total.params == DOCUMENTED[name].meta["num_params"]
    assert sum(r.params for r in table.layers) == table.total.params
    assert sum(r.macs for r in table.layers) == table.total.macs


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "densenet121", "alexnet"])
def test_flops_equal_torch_flop_counter(name: str) -> None:
    """torch's FlopCounterMode counts 2 FLOPs per MAC of conv / mm / addmm: equal to our ``flops``."""
    with torch.device("meta"):
        net = models.create(name).eval()
        x = torch.empty(1, 3, 96, 96)
        with FlopCounterMode(display=False) as counter:
            net(x)
    table = profile(net, (3, 96, 96))
    assert table.total.flops == counter.get_total_flops()


def test_per_layer_rows_match_flop_counter_by_module() -> None:
    with torch.device("meta"):
        net = models.create("resnet18").eval()
        with FlopCounterMode(display=False) as counter:
            net(torch.empty(1, 3, 64, 64))
    per_module = counter.get_flop_counts()
    table = profile(net, (3, 64, 64))
    for row in table.layers:
        if row.type in ("Conv2d", "Linear"):
            theirs = sum(per_module.get(f"ResNet.{row.name}", {}).values())
            assert row.flops == theirs, row.name


def test_hand_worked_small_network() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=True),  # 8·8·8 outputs · 27 MACs; bias adds 512
        nn.BatchNorm2d(8),  # 2 ops per element in eval
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8·4·4 outputs · 3 comparisons
        nn.Flatten(),
        nn.Linear(128, 10, bias=False),
    )
    t = profile(net, "3x10x10")
    conv, bn, relu, pool, flat, fc = t.layers
    assert (conv.name, conv.macs, conv.other_ops, conv.output_shape) == ("0", 512 * 27, 512, [1, 8, 8, 8])
    assert (bn.params, bn.other_ops) == (16, 1024)
    assert relu.other_ops == 512 and pool.other_ops == 128 * 3
    assert flat.macs == 0 and fc.macs == 1280 and fc.params == 1280
    assert conv.activation_bytes == 512 * 4
    assert t.total.macs == 512 * 27 + 1280
    t4 = profile(net, (3, 10, 10), batch_size=4)
    assert t4.total.macs == 4 * t.total.macs


def test_notes_formulas_against_the_table() -> None:
    net = nn.Sequential(nn.Conv2d(6, 12, 5, padding=2), nn.Conv2d(12, 12, 3, bias=False, groups=3), nn.BatchNorm2d(12))
    t = profile(net, (6, 9, 9))
    c1, c2, bn = t.layers
    assert conv_macs_notes(6, 5, 9, 9, 12) == c1.macs
    # with bias the notes' FLOPs are exactly 2·MACs; without bias one add fewer per output
    assert conv_flops_notes(6, 5, 9, 9, 12, bias=True) == c1.flops
    assert conv_flops_notes(12, 3, 7, 7, 12, bias=False, groups=3) == c2.flops - 12 * 7 * 7
    assert conv_params_notes(6, 5, 12) == c1.params == sum(p.numel() for p in net[0].parameters())
    assert conv_params_notes(12, 3, 12, bias=False, groups=3) == c2.params
    assert bn_params_notes(12) == bn.params
    fc = profile(nn.Linear(20, 7), (20,))
    assert linear_flops_notes(20, 7, bias=True) == fc.total.flops
    assert linear_flops_notes(20, 7, bias=False) == fc.total.flops - 7
    assert linear_params_notes(20, 7) == fc.total.params == 147


def test_functional_ops_in_containers_get_rows() -> None:
    with torch.device("meta"):
        net = models.create("resnet18")
    t = profile(net, (3, 64, 64))
    add = t.row("layer1.0:add")
    assert add.other_ops == 64 * 16 * 16 and add.output_shape == [1, 64, 16, 16]
    relu = t.row("layer1.0.relu")
    assert relu.calls == 2  # shared module: one row, two calls


def test_adaptive_pool_counts_exact_windows() -> None:
    # 5 → 3 windows [0,2) [1,4) [3,5): sizes 2, 3, 2 → 7 per axis → 49 ops per plane (adds + divide)
    t = profile(nn.AdaptiveAvgPool2d(3), (2, 5, 5))
    assert t.total.other_ops == 2 * 49
    t = profile(nn.AdaptiveMaxPool2d(3), (2, 5, 5))
    assert t.total.other_ops == 2 * (49 - 9)


class _Weird(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.cumsum(y, dim=-1) * self.scale


def test_unknown_ops_are_reported_never_silently_zero() -> None:
    t = profile(_Weird(), (1, 6, 6))
    assert t.total.uncounted == ["(root):cumsum"]
    assert t.row("(root):cumsum").uncounted == ["(root):cumsum"]
    assert t.total.params == 2 * 9 + 2 + 1  # the container's own parameter has a row too
    assert sum(r.params for r in t.layers) == t.total.params


def test_uncalled_modules_keep_their_parameters() -> None:
    with torch.device("meta"):
        net = models.create("googlenet", aux_logits=True)
    t = profile(net, (3, 224, 224))  # eval: aux heads do not run
    assert t.total.params == sum(p.numel() for p in net.parameters())
    assert t.row("aux1.fc1").calls == 0 and t.row("aux1.fc1").params == 2048 * 1024 + 1024
    assert sum(r.params for r in t.layers) == t.total.params


def test_training_mode_counts_dropout_and_bn_statistics() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    ev = profile(net, (4,), batch_size=2)
    tr = profile(net, (4,), batch_size=2, train=True)
    assert ev.row("2").other_ops == 0 and tr.row("2").other_ops == 8
    # training BN: 5 per element plus the one add of ``num_batches_tracked += 1``
    assert ev.row("1").other_ops == 16 and tr.row("1").other_ops == 40 + 1
    assert net.training  # mode restored
    assert torch.equal(net[1].running_mean, torch.zeros(4)) and int(net[1].num_batches_tracked) == 0


def test_to_dict_layout() -> None:
    d = profile(nn.Conv2d(1, 1, 1), (1, 2, 2)).to_dict()
    assert set(d) == {"layers", "total"}
    assert {"name", "type", "output_shape", "params", "macs", "flops"} <= set(d["layers"][0])
    assert {"params", "macs", "flops", "other_ops"} <= set(d["total"])


@pytest.mark.parametrize(
    ("shape", "match"),
    [("3x", "input shape"), ("3xax4", "input shape"), ((0, 4, 4), "positive"), ((3.0, 4), "positive ints")],
)
def test_bad_input_shape(shape: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_input_shape(shape)  # type: ignore[arg-type]


def test_bad_model_and_batch() -> None:
    with pytest.raises(TypeError, match="nn.Module"):
        profile("resnet18", (3, 8, 8))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        profile(nn.Conv2d(1, 1, 1), (1, 2, 2), batch_size=0)


# --- regressions from review: attention, batched/vector matrix products, tied weights -------------------
class _Attention(nn.Module):
    def __init__(self, batch_first: bool, **kw: object) -> None:
        super().__init__()
        self.kdim, self.vdim = int(kw.get("kdim", 8)), int(kw.get("vdim", 8))  # type: ignore[call-overload]
        self.mha = nn.MultiheadAttention(8, 2, batch_first=batch_first, **kw)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.flatten(2).transpose(1, 2)  # [N, L=10, 8]
        q, k, v = t[..., :8], t[:, :3, : self.kdim], t[:, :3, : self.vdim]
        if not self.mha.batch_first:
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        return self.mha(q, k, v)[0]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize(
    "kw", [{}, {"add_bias_kv": True}, {"add_zero_attn": True}, {"kdim": 4, "vdim": 6}, {"bias": False}]
)
def test_multihead_attention_matches_flop_counter(batch_first: bool, kw: dict) -> None:
    net = _Attention(batch_first, **kw)
    x = torch.randn(2, 8, 2, 5, generator=torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as fc:  # grad enabled: the decomposed (counted) path
        net(x)
    t = profile(net, (8, 2, 5), batch_size=2)
    assert fc.get_total_flops() > 0
    assert t.total.flops == fc.get_total_flops() and t.total.flops == 2 * t.total.macs
    assert t.total.uncounted == []  # no spurious metadata op (``is_nested``) either


class _Products(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.flatten(2)  # [B, C, HW]
        a = torch.bmm(y, y.transpose(1, 2))  # [B, C, C]
        b = torch.baddbmm(a, y, y.transpose(1, 2))
        c = torch.einsum("bij,bjk->bik", y, y.transpose(1, 2))
        d = torch.nn.functional.scaled_dot_product_attention(y, y, y)  # [B, C, HW]
        return a.sum() + b.sum() + c.sum() + d.sum()


def test_batched_products_einsum_and_sdpa_match_flop_counter() -> None:
    net = _Products()
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    # the fused CPU attention kernel is invisible to FlopCounterMode: make it count the math path
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with FlopCounterMode(display=False) as fc, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        net(x)
    t = profile(net, (3, 4, 5), batch_size=2)
    assert t.total.uncounted == []
    assert t.total.flops == fc.get_total_flops()


def test_mv_and_dot_counted_by_hand_and_einsum_with_ellipsis_reported() -> None:
    class Net(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            m = x[0, 0]  # [4, 5]
            v = torch.mv(m, m[0])  # 4·5 MACs
            s = torch.dot(m[0], m[1])  # 5 MACs
            e = torch.einsum("...ij->...ji", x)  # not counted: must be reported
            return v.sum() + s + e.sum()

    t = profile(Net(), (3, 4, 5))
    assert t.total.macs == 4 * 5 + 5
    assert t.total.uncounted == ["(root):einsum"]


def test_tied_weights_rows_sum_to_distinct_parameters() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc, self.dec = nn.Linear(8, 8), nn.Linear(8, 8)
            self.dec.weight = self.enc.weight

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dec(self.enc(x.mean((2, 3))))

    net = Tied()
    t = profile(net, (8, 3, 3))
    expected = sum(p.numel() for p in net.parameters())  # distinct parameters: 64 + 8 + 8
    assert t.total.params == expected == 80
    assert sum(r.params for r in t.layers) == expected
