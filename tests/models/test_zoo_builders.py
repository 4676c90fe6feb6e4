"""Zoo builders: small-input stems for 32×32 digits, options, and argument checks.

Oracles: torch's own shape inference (meta device), hand-worked layer sizes, torchvision's
GoogLeNet ``transform_input`` on the same weights.
"""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm

from dlprimer import models

ZOO = [
    "alexnet",
    *(f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")),
    "googlenet",
    *(f"resnet{d}" for d in (18, 34, 50, 101, 152)),
    "resnext50_32x4d",
    "resnext101_32x8d",
    *(f"densenet{d}" for d in (121, 169, 201)),
]
FAMILIES = ["alexnet", "vgg11_bn", "googlenet", "resnet18", "resnet50", "resnext50_32x4d", "densenet121"]


def test_zoo_has_twenty_models() -> None:
    assert len(ZOO) == 20 and set(ZOO) <= set(models.list_models())


@pytest.mark.parametrize("name", ZOO)
def test_small_input_digits_shape_on_meta(name: str) -> None:
    with torch.device("meta"):
        net = models.create(name, num_classes=10, in_channels=1, small_input=True).eval()
        out = net(torch.empty(2, 1, 32, 32))
    assert out.shape == (2, 10)


@pytest.mark.parametrize("name", ["alexnet", "resnet18", "densenet121", "googlenet"])
def test_small_input_keeps_resolution_in_stem(name: str) -> None:
    """The small stem is a 3×3 stride-1 conv: the first conv output is 32×32 for a 32×32 input."""
    with torch.device("meta"):
        net = models.create(name, num_classes=10, in_channels=1, small_input=True).eval()
    first = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.kernel_size == (3, 3) and first.stride == (1, 1) and first.in_channels == 1
    seen = []
    h = first.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    with torch.device("meta"):
        net(torch.empty(1, 1, 32, 32))
    h.remove()
    assert seen[0][-2:] == (32, 32)


@pytest.mark.parametrize("name", ["resnet18"])
def test_small_input_real_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    net = models.create(name, num_classes=10, in_channels=1, small_input=True)
    x = torch.randn(2, 1, 32, 32)
    out = net(x)
    assert out.shape == (2, 10) and out.dtype == torch.float32
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_googlenet_aux_outputs_in_training() -> None:
    with torch.device("meta"):
        net = models.create("googlenet", num_classes=10, aux_logits=True).train()
        out = net(torch.empty(2, 3, 224, 224))
    assert isinstance(out, tuple) and len(out) == 3
    assert all(o.shape == (2, 10) for o in out)
    with torch.device("meta"):
        net.eval()
        assert net(torch.empty(2, 3, 224, 224)).shape == (2, 10)


def test_googlenet_paper_5x5_kernel() -> None:
    with torch.device("meta"):
        net = models.create("googlenet", paper_5x5=True)
    assert net.inception3a.branch3[1].conv.kernel_size == (5, 5)
    with torch.device("meta"):
        assert net.eval()(torch.empty(1, 3, 224, 224)).shape == (1, 1000)


def test_googlenet_transform_input_matches_torchvision() -> None:
    with torch.device("meta"):
        theirs = tvm.googlenet(aux_logits=False, init_weights=False, transform_input=True)
        ours = models.create("googlenet", transform_input=True)
    theirs = theirs.to_empty(device="cpu").eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_(0.0, (2.0 / p[0].numel()) ** 0.5 if p.dim() >= 2 else 0.1, generator=g)
        for name, b in theirs.named_buffers():
            if name.endswith("running_var"):
                b.fill_(1.0)
            elif name.endswith("running_mean"):
                b.zero_()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    ours.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-6, atol=1e-6)


def test_resnet_zero_init_residual() -> None:
    net = models.create("resnet18", zero_init_residual=True)
    assert torch.count_nonzero(net.layer1[0].bn2.weight) == 0
    assert torch.count_nonzero(net.layer1[0].bn1.weight) == 64


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": 0}, ValueError, "num_classes"),
        ({"num_classes": 2.5}, ValueError, "num_classes"),
        ({"in_channels": 0}, ValueError, "in_channels"),
        ({"small_input": "yes"}, TypeError, "small_input"),
    ],
)
def test_bad_builder_arguments(name: str, kwargs: dict, error: type, match: str) -> None:
    with torch.device("meta"), pytest.raises(error, match=match):
        models.create(name, **kwargs)


def test_googlenet_transform_input_needs_rgb() -> None:
    with pytest.raises(ValueError, match="transform_input"):
        models.create("googlenet", in_channels=1, transform_input=True)


def test_dropout_range_checked() -> None:
    with torch.device("meta"), pytest.raises(ValueError, match="dropout"):
        models.create("vgg11", dropout=1.5)
