"""DenseNet-121/169/201 (Huang et al., 2016; the DenseNet-BC variant), as torchvision builds it.

The notes' "DenseNet": inside a dense block every layer receives the concatenation of *all* earlier
feature maps of the block (a shortcut between any two layers) and adds ``growth_rate`` new channels;
this feature reuse fights vanishing gradients. Each dense layer is BN → ReLU → 1×1 conv
(``bn_size·growth_rate``) → BN → ReLU → 3×3 conv (``growth_rate``); a transition between blocks is
BN → ReLU → 1×1 conv (halving channels) → 2×2 average pool.

Layout for 224×224::

    features.conv0 7×7/2, 64 → norm0 → relu0 → pool0 max 3/2 pad 1                 # [N, 64, 56, 56]
    denseblock1 → transition1 → denseblock2 → transition2 → denseblock3 → transition3 → denseblock4
    features.norm5 → ReLU → global average pool → classifier FC → num_classes

    densenet121: blocks (6, 12, 24, 16); densenet169: (6, 12, 32, 32); densenet201: (6, 12, 48, 32)
    growth_rate 32, num_init_features 64, bn_size 4.

``state_dict`` keys and shapes equal torchvision's (``features.denseblock1.denselayer1.norm1.weight``
…; ``in_channels=3``, ``small_input=False``). The final ReLU is a module (``relu5``, a functional call
in torchvision; no parameters, so keys are unchanged). ``small_input=True`` uses a 3×3 stride-1 stem
(padding 1) and ``Identity`` for ``pool0``: 32×32 → 32, 16, 8, 4 through the blocks.
Initialisation follows torchvision (Kaiming-normal convs, BN γ=1 β=0, linear bias 0).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlprimer.models._common import check_model_args
from dlprimer.models.registry import register_model


class DenseLayer(nn.Module):
    """BN-ReLU-1×1 conv (bottleneck) then BN-ReLU-3×3 conv; input is the list of all earlier maps."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, inputs: list[Tensor] | Tensor) -> Tensor:
        prev = [inputs] if isinstance(inputs, Tensor) else inputs
        x = torch.cat(prev, 1)  # [N, sum of channels, H, W]
        x = self.conv1(self.relu1(self.norm1(x)))  # [N, bn_size·k, H, W]
        x = self.conv2(self.relu2(self.norm2(x)))  # [N, k, H, W]
        if self.drop_rate > 0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; output is the concatenation of the input and every new map."""

    def __init__(
        self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int, drop_rate: float
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features: Tensor) -> Tensor:
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)  # [N, C0 + num_layers·k, H, W]


class Transition(nn.Sequential):
    """BN → ReLU → 1×1 conv → 2×2/2 average pool."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """DenseNet-BC classifier. Input ``[N, in_channels, H, W]``, output logits ``[N, num_classes]``."""

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: tuple[int, ...] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        check_model_args(num_classes, in_channels, small_input)
        if not block_config or any(not isinstance(n, int) or n < 1 for n in block_config):
            raise ValueError(f"block_config must be positive ints, got {block_config!r}")
        if small_input:
            stem = [
                ("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=3, stride=1, padding=1, bias=False)),
                ("norm0", nn.BatchNorm2d(num_init_features)),
                ("relu0", nn.ReLU(inplace=True)),
                ("pool0", nn.Identity()),
            ]
        else:
            stem = [
                ("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
                ("norm0", nn.BatchNorm2d(num_init_features)),
                ("relu0", nn.ReLU(inplace=True)),
                ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
            ]
        self.features = nn.Sequential(OrderedDict(stem))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.relu5 = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(num_features, num_classes)
        # fine-tuning and input-size declarations (dlprimer.train.finetune, dlprimer train --image-size)
        self.head_names: tuple[str, ...] = ("classifier",)
        n = len(block_config)
        self.stage_names: tuple[tuple[str, ...], ...] = tuple(
            (f"features.denseblock{i + 1}", f"features.transition{i + 1}") if i < n - 1
            else (f"features.denseblock{i + 1}", "features.norm5") for i in range(n)
        )
        self.min_input_size = None if small_input else 29  # four 2×2 average pools after a stride-4 stem

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu5(self.features(x))  # [N, C, H/32, W/32]
        x = torch.flatten(self.avgpool(x), 1)  # [N, C]
        return self.classifier(x)


def _densenet(block_config: tuple[int, ...], num_classes: int, in_channels: int, small_input: bool) -> DenseNet:
    return DenseNet(
        block_config=block_config, num_classes=num_classes, in_channels=in_channels, small_input=small_input
    )


@register_model("densenet121")
def densenet121(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False) -> DenseNet:
    """DenseNet-121 (blocks 6, 12, 24, 16); 7,978,856 parameters with 1000 classes."""
    return _densenet((6, 12, 24, 16), num_classes, in_channels, small_input)


@register_model("densenet169")
def densenet169(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False) -> DenseNet:
    """DenseNet-169 (blocks 6, 12, 32, 32)."""
    return _densenet((6, 12, 32, 32), num_classes, in_channels, small_input)


@register_model("densenet201")
def densenet201(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False) -> DenseNet:
    """DenseNet-201 (blocks 6, 12, 48, 32)."""
    return _densenet((6, 12, 48, 32), num_classes, in_channels, small_input)
