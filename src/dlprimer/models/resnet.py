"""ResNet-18/34/50/101/152 (He et al., 2015) and ResNeXt-50 32×4d / 101 32×8d (Xie et al., 2016).

The notes' "ResNet": shortcut connections make the block learn a residual F(x) and output
``relu(F(x) + x)``, which keeps very deep networks trainable; BN after every conv; networks deeper than
50 layers use the bottleneck block (1×1 reduce → 3×3 → 1×1 expand ×4). The notes' "ResNeXt": the
bottleneck's 3×3 conv is split into ``groups`` identical branches (cardinality), implemented as one
grouped convolution of width ``int(planes · base_width / 64) · groups``.

Layout for 224×224 (torchvision's; stride in the 3×3 conv, "ResNet v1.5")::

    conv1 7×7/2, 64 → bn1 → relu → maxpool 3/2                      # [N, 64, 56, 56]
    layer1 (stride 1), layer2 (/2), layer3 (/2), layer4 (/2)         # [N, 512·e, 7, 7]
    avgpool 1×1 → flatten → fc 512·e → num_classes                   # e = 1 basic, 4 bottleneck

A block whose stride or width changes gets ``downsample`` = 1×1 conv (stride s, no bias) → BN.
``state_dict`` keys and shapes equal torchvision's model of the same name (``in_channels=3``,
``small_input=False``). ``small_input=True`` uses a 3×3 stride-1 stem (padding 1) and replaces the
max-pool by ``Identity`` (the CIFAR ResNet stem): 32×32 → 32, 16, 8, 4 through the four stages.
Initialisation follows torchvision (Kaiming-normal fan_out convs; BN γ=1, β=0; optionally the last BN
of every block zero, ``zero_init_residual``).
"""

from __future__ import annotations

from torch import Tensor, nn

from dlprimer.models._common import check_model_args
from dlprimer.models.registry import register_model


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3×3 convolution without bias, padding = dilation (size-preserving at stride 1)."""
    return nn.Conv2d(
        in_planes, out_planes, 3, stride=stride, padding=dilation, groups=groups, bias=False, dilation=dilation
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convs: ``relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))``; expansion 1."""

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock supports only groups=1 and base_width=64, got {groups}, {base_width}")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + identity  # the shortcut (an element-wise add)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (stride, groups) → 1×1 expand (×4), plus the shortcut; expansion 4."""

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + identity
        return self.relu(out)


_BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """ResNet / ResNeXt classifier. Input ``[N, in_channels, H, W]``, output logits ``[N, num_classes]``.

    ``block`` is ``"basic"`` or ``"bottleneck"``; ``layers`` the number of blocks per stage;
    ``groups`` / ``width_per_group`` give ResNeXt's cardinality and per-group width.
    """

    def __init__(
        self,
        block: str,
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        check_model_args(num_classes, in_channels, small_input)
        if block not in _BLOCKS:
            raise ValueError(f"block must be one of {sorted(_BLOCKS)}, got {block!r}")
        if len(layers) != 4 or any(not isinstance(n, int) or n < 1 for n in layers):
            raise ValueError(f"layers must be four positive ints, got {layers!r}")
        block_cls = _BLOCKS[block]
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block_cls, 64, layers[0])
        self.layer2 = self._make_layer(block_cls, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block_cls, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block_cls, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block_cls.expansion, num_classes)
        # fine-tuning and input-size declarations (dlprimer.train.finetune, dlprimer train --image-size)
        self.head_names: tuple[str, ...] = ("fc",)
        self.stage_names: tuple[tuple[str, ...], ...] = (("layer1",), ("layer2",), ("layer3",), ("layer4",))
        self.min_input_size = 1  # padded convolutions and an adaptive pool: any size runs

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
            )
        layers: list[nn.Module] = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # [N, 64, H/4, W/4]
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # [N, 512·e, H/32, W/32]
        x = self.avgpool(x).flatten(1)  # [N, 512·e]
        return self.fc(x)


def _resnet(block: str, layers: tuple[int, int, int, int], groups: int, width: int, **kwargs: object) -> ResNet:
    return ResNet(block, layers, groups=groups, width_per_group=width, **kwargs)  # type: ignore[arg-type]


@register_model("resnet18")
def resnet18(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 parameters with 1000 classes."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("basic", (2, 2, 2, 2), 1, 64, zero_init_residual=zero_init_residual, **kw)


@register_model("resnet34")
def resnet34(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3)."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("basic", (3, 4, 6, 3), 1, 64, zero_init_residual=zero_init_residual, **kw)


@register_model("resnet50")
def resnet50(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); 25,557,032 parameters with 1000 classes."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("bottleneck", (3, 4, 6, 3), 1, 64, zero_init_residual=zero_init_residual, **kw)


@register_model("resnet101")
def resnet101(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3)."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("bottleneck", (3, 4, 23, 3), 1, 64, zero_init_residual=zero_init_residual, **kw)


@register_model("resnet152")
def resnet152(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3)."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("bottleneck", (3, 8, 36, 3), 1, 64, zero_init_residual=zero_init_residual, **kw)


@register_model("resnext50_32x4d")
def resnext50_32x4d(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNeXt-50 32×4d: bottleneck (3, 4, 6, 3), 32 groups of width 4 (grouped 3×3 conv)."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("bottleneck", (3, 4, 6, 3), 32, 4, zero_init_residual=zero_init_residual, **kw)


@register_model("resnext101_32x8d")
def resnext101_32x8d(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> ResNet:
    """ResNeXt-101 32×8d: bottleneck (3, 4, 23, 3), 32 groups of width 8."""
    kw = {"num_classes": num_classes, "in_channels": in_channels, "small_input": small_input}
    return _resnet("bottleneck", (3, 4, 23, 3), 32, 8, zero_init_residual=zero_init_residual, **kw)
