"""The CNN zoo against torchvision: state_dict keys/shapes, parameter counts, outputs with the same weights.

Oracle: ``torchvision.models`` (0.29). Models are built on the meta device for the structural checks
(no arithmetic); for the output check torchvision's model is materialised once with seeded random
weights, loaded into ours with ``strict=True`` and both run on the same small input in eval mode.
"""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.models as tvm

from dlprimer import models

ZOO = [
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "densenet121",
    "densenet169",
    "densenet201",
]
# one model per code path for the (slower) output check; depth variants share the code and their
# structure is checked above for all 20 models
OUTPUT_CHECK = ["alexnet", "vgg11", "vgg16_bn", "googlenet", "resnet18", "resnet50", "resnext50_32x4d", "densenet121"]
# smallest convenient input each architecture accepts without the small-input stem
INPUT_SIZE = {"alexnet": 64}


def _tv(name: str, **kw: object) -> torch.nn.Module:
    if name == "googlenet":
        kw = {"aux_logits": False, "init_weights": True, **kw}
    return getattr(tvm, name)(**kw)


def test_zoo_is_registered() -> None:
    assert set(ZOO) <= set(models.list_models())


@pytest.mark.parametrize("name", ZOO)
def test_state_dict_keys_shapes_and_param_count_match_torchvision(name: str) -> None:
    with torch.device("meta"):
        ours = models.create(name)
        theirs = _tv(name)
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st), f"{name}: keys differ: {set(so) ^ set(st)}"
    for k in st:
        assert so[k].shape == st[k].shape, f"{name}.{k}: ours {tuple(so[k].shape)} vs tv {tuple(st[k].shape)}"
    n_ours = sum(p.numel() for p in ours.parameters())
    n_tv = sum(p.numel() for p in theirs.parameters())
    assert n_ours == n_tv, f"{name}: params ours {n_ours} vs torchvision {n_tv}"


def test_googlenet_with_aux_heads_matches_torchvision_keys() -> None:
    with torch.device("meta"):
        ours = models.create("googlenet", aux_logits=True)
        theirs = tvm.googlenet(aux_logits=True, init_weights=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}


def _seeded_torchvision(name: str, seed: int) -> torch.nn.Module:
    """torchvision's model with every parameter and buffer drawn from a seeded generator."""
    with torch.device("meta"):
        net = _tv(name)
    net = net.to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, p in net.named_parameters():
            if p.dim() >= 2:  # He-like scale keeps activations O(1) through deep nets
                p.normal_(0.0, math.sqrt(2.0 / p[0].numel()), generator=g)
            elif pname.endswith("weight"):
                p.uniform_(0.5, 1.5, generator=g)
            else:
                p.normal_(0.0, 0.1, generator=g)
        for bname, b in net.named_buffers():
            if bname.endswith("running_mean"):
                b.normal_(0.0, 0.1, generator=g)
            elif bname.endswith("running_var"):
                b.uniform_(0.5, 1.5, generator=g)
    return net.eval()


@pytest.mark.parametrize("name", OUTPUT_CHECK)
def test_torchvision_weights_give_equal_outputs(name: str) -> None:
    theirs = _seeded_torchvision(name, seed=1234)
    with torch.device("meta"):
        ours = models.create(name)
    missing = ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    ours.eval()
    size = INPUT_SIZE.get(name, 32)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = theirs(x)
        got = ours(x)
    assert got.shape == expected.shape == (2, 1000) and got.dtype == expected.dtype
    scale = expected.abs().max().item()
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6 * max(1.0, scale))
