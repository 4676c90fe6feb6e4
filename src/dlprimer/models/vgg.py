"""VGG-11/13/16/19 with and without batch norm (Simonyan & Zisserman, 2014), as torchvision builds them.

The notes' "VGG": only 3×3 convolutions (padding 1, size-preserving) and 2×2 max-pools (halving the
size); two stacked 3×3 convs see 5×5 and three see 7×7 with fewer parameters than one large kernel.
Configurations (numbers are output channels, ``M`` a 2×2/2 max-pool)::

    vgg11: 64 M 128 M 256 256 M 512 512 M 512 512 M
    vgg13: 64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
    vgg16: 64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
    vgg19: 64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M

then adaptive average pool to 7×7 and the classifier FC 25088→4096 → ReLU → dropout → FC 4096→4096 →
ReLU → dropout → FC → num_classes. ``_bn`` variants put ``BatchNorm2d`` between each conv and its ReLU.
``state_dict`` keys and shapes equal torchvision's model of the same name (``in_channels=3``,
``small_input=False``).

``small_input=True`` (for 32×32 digits: the five pools leave a 1×1 map) pools to 1×1 and uses a
512-wide classifier (FC 512→512 → ReLU → dropout → FC 512→512 → ReLU → dropout → FC), the usual CIFAR
VGG; key names are unchanged, the classifier's shapes shrink. The convolutional trunk is identical.
Initialisation follows torchvision: Kaiming-normal (fan_out, ReLU) convs, N(0, 0.01) linears, zero biases.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dlprimer.models._common import check_model_args, pool_stages
from dlprimer.models.registry import register_model

_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_vgg_features(cfg: list[int | str], in_channels: int = 3, batch_norm: bool = False) -> nn.Sequential:
    """The convolutional trunk for a configuration list (ints: 3×3 conv widths, ``"M"``: 2×2/2 max-pool)."""
    layers: list[nn.Module] = []
    channels = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        assert isinstance(v, int)
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG classifier. Input ``[N, in_channels, H, W]`` (H, W ≥ 32), output logits ``[N, num_classes]``."""

    def __init__(
        self,
        features: nn.Sequential,
        num_classes: int = 1000,
        dropout: float = 0.5,
        small_input: bool = False,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.features = features
        pooled, hidden = (1, 512) if small_input else (7, 4096)
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pooled * pooled, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        # fine-tuning and input-size declarations (dlprimer.train.finetune, dlprimer train --image-size)
        self.head_names: tuple[str, ...] = ("classifier",)
        self.stage_names = pool_stages(self.features, "features")
        self.min_input_size = 32  # five 2×2 max-pools
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # [N, 512, H/32, W/32]
        x = self.avgpool(x)  # [N, 512, 7, 7] (1×1 with small_input)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _vgg(cfg: str, batch_norm: bool, num_classes: int, in_channels: int, small_input: bool, dropout: float) -> VGG:
    check_model_args(num_classes, in_channels, small_input)
    features = make_vgg_features(_CFGS[cfg], in_channels=in_channels, batch_norm=batch_norm)
    return VGG(features, num_classes=num_classes, dropout=dropout, small_input=small_input)


@register_model("vgg11")
def vgg11(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration A (see :class:`VGG`)."""
    return _vgg("A", False, num_classes, in_channels, small_input, dropout)


@register_model("vgg11_bn")
def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration A with batch norm (see :class:`VGG`)."""
    return _vgg("A", True, num_classes, in_channels, small_input, dropout)


@register_model("vgg13")
def vgg13(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration B (see :class:`VGG`)."""
    return _vgg("B", False, num_classes, in_channels, small_input, dropout)


@register_model("vgg13_bn")
def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration B with batch norm (see :class:`VGG`)."""
    return _vgg("B", True, num_classes, in_channels, small_input, dropout)


@register_model("vgg16")
def vgg16(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration D (see :class:`VGG`)."""
    return _vgg("D", False, num_classes, in_channels, small_input, dropout)


@register_model("vgg16_bn")
def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration D with batch norm (see :class:`VGG`)."""
    return _vgg("D", True, num_classes, in_channels, small_input, dropout)


@register_model("vgg19")
def vgg19(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration E (see :class:`VGG`)."""
    return _vgg("E", False, num_classes, in_channels, small_input, dropout)


@register_model("vgg19_bn")
def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> VGG:
    """VGG configuration E with batch norm (see :class:`VGG`)."""
    return _vgg("E", True, num_classes, in_channels, small_input, dropout)
