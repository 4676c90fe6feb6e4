"""A small CSPNet-style backbone (notes: 高效CNN, CSPNet) with outputs at strides 8, 16 and 32.

Cross Stage Partial (Wang et al., CVPR-W 2020; YOLOv5's ``C3``): a stage splits its input into two 1×1
projections, runs bottlenecks on one part only and concatenates the untouched part back before a 1×1 fusion,
so half the channels skip the stage's convolutions (fewer MACs, a shorter gradient path, less duplicated
gradient information).

``CSPBackbone(in_channels, width)``: stem 3×3/2 → [3×3/2 conv → C3] × 4; returns ``[C3, C4, C5]``:
``[B, 2w, H/8, W/8]``, ``[B, 4w, H/16, W/16]``, ``[B, 8w, H/32, W/32]`` (``w = width``).
``ResNetBackbone`` offers the model zoo's ResNet-18 (``dlprimer.models.resnet``) with the same outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["C3", "Bottleneck", "CSPBackbone", "ConvBNAct", "ResNetBackbone"]


class ConvBNAct(nn.Sequential):
    """Conv (no bias) → BatchNorm → SiLU; padding ``k // 2`` keeps ``H / stride``."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False), nn.BatchNorm2d(c_out), nn.SiLU(inplace=True))


class Bottleneck(nn.Module):
    """1×1 → 3×3 with a residual connection."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.cv1, self.cv2 = ConvBNAct(c, c, 1), ConvBNAct(c, c, 3)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.cv2(self.cv1(x))


class C3(nn.Module):
    """CSP stage: ``cv3(cat(m(cv1(x)), cv2(x)))`` with ``n`` bottlenecks on the ``cv1`` half."""

    def __init__(self, c_in: int, c_out: int, n: int = 1) -> None:
        super().__init__()
        c = c_out // 2
        self.cv1, self.cv2 = ConvBNAct(c_in, c, 1), ConvBNAct(c_in, c, 1)
        self.m = nn.Sequential(*(Bottleneck(c) for _ in range(n)))
        self.cv3 = ConvBNAct(2 * c, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.cv3(torch.cat([self.m(self.cv1(x)), self.cv2(x)], 1))


class CSPBackbone(nn.Module):
    """See the module docstring. ``out_channels = (2w, 4w, 8w)``, ``strides = (8, 16, 32)``."""

    strides = (8, 16, 32)

    def __init__(self, in_channels: int = 1, width: int = 16, depth: int = 1) -> None:
        super().__init__()
        w = width
        self.stem = ConvBNAct(in_channels, w, 3, 2)  # /2
        self.stage1 = nn.Sequential(ConvBNAct(w, w, 3, 2), C3(w, w, depth))  # /4
        self.stage2 = nn.Sequential(ConvBNAct(w, 2 * w, 3, 2), C3(2 * w, 2 * w, depth))  # /8
        self.stage3 = nn.Sequential(ConvBNAct(2 * w, 4 * w, 3, 2), C3(4 * w, 4 * w, depth))  # /16
        self.stage4 = nn.Sequential(ConvBNAct(4 * w, 8 * w, 3, 2), C3(8 * w, 8 * w, depth))  # /32
        self.out_channels = (2 * w, 4 * w, 8 * w)

    def forward(self, x: Tensor) -> list[Tensor]:
        c3 = self.stage2(self.stage1(self.stem(x)))
        c4 = self.stage3(c3)
        return [c3, c4, self.stage4(c4)]


class ResNetBackbone(nn.Module):
    """The zoo's ResNet-18 (``dlprimer.models.create("resnet18")``) cut after its stride-8/16/32 stages."""

    strides = (8, 16, 32)

    def __init__(self, in_channels: int = 1, width: int = 16, depth: int = 1) -> None:
        super().__init__()
        from dlprimer import models

        net = models.create("resnet18", num_classes=1, in_channels=in_channels)
        children = dict(net.named_children())
        names = list(children)
        self.layers = nn.ModuleList()
        self.out_channels: tuple[int, ...] = ()
        probe = torch.zeros(1, in_channels, 64, 64)
        current: list[nn.Module] = []
        outs = []
        with torch.no_grad():
            for name in names:
                module = children[name]
                if isinstance(module, (nn.Linear, nn.AdaptiveAvgPool2d, nn.Flatten)):
                    break
                current.append(module)
                probe = module(probe)
                stride = 64 // probe.shape[-1]
                if stride in (8, 16, 32) and (not outs or outs[-1][0] != stride):
                    outs.append((stride, probe.shape[1]))
                    self.layers.append(nn.Sequential(*current))
                    current = []
        if [s for s, _ in outs] != [8, 16, 32]:
            raise ValueError(f"resnet18 does not expose strides 8, 16, 32 (found {[s for s, _ in outs]})")
        self.out_channels = tuple(c for _, c in outs)

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats
