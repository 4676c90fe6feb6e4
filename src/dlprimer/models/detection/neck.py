"""FPN + PAN neck (Lin et al. 2017 feature pyramid; Liu et al. 2018 path aggregation, as in YOLOv5).

Top-down (FPN): ``P5 → upsample ×2 ⊕ C4 → P4 → upsample ×2 ⊕ C3 → P3`` carries semantics to the fine maps;
bottom-up (PAN): ``P3 → 3×3/2 ⊕ P4 → N4 → 3×3/2 ⊕ P5 → N5`` carries localisation back to the coarse maps.
``⊕`` is concatenation followed by a C3 block. Input ``[C3, C4, C5]`` (strides 8/16/32), output three maps of
``out_channels`` channels each at the same strides — or, with ``levels=1``, only ``P3`` (the bottom-up path is
not built: a model that reads one map, CenterNet, has no parameters that never get a gradient, which
``DistributedDataParallel`` refuses and which would inflate its parameter count).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlprimer.models.detection.backbone import C3, ConvBNAct

__all__ = ["PANNeck"]


class PANNeck(nn.Module):
    """See the module docstring. ``in_channels = (c3, c4, c5)``."""

    def __init__(self, in_channels: tuple[int, ...], out_channels: int = 64, levels: int = 3) -> None:
        super().__init__()
        if levels not in (1, 3):
            raise ValueError(f"levels must be 1 (P3 only) or 3, got {levels!r}")
        self.levels = levels
        c3, c4, c5 = in_channels
        o = out_channels
        self.lat5 = ConvBNAct(c5, o, 1)
        self.td4 = C3(o + c4, o)
        self.lat4 = ConvBNAct(o, o, 1)
        self.td3 = C3(o + c3, o)
        if levels == 3:
            self.down3 = ConvBNAct(o, o, 3, 2)
            self.bu4 = C3(2 * o, o)
            self.down4 = ConvBNAct(o, o, 3, 2)
            self.bu5 = C3(2 * o, o)
        self.out_channels = o

    def forward(self, feats: list[Tensor]) -> list[Tensor]:
        c3, c4, c5 = feats
        p5 = self.lat5(c5)
        p4 = self.lat4(self.td4(torch.cat([F.interpolate(p5, scale_factor=2.0, mode="nearest"), c4], 1)))
        p3 = self.td3(torch.cat([F.interpolate(p4, scale_factor=2.0, mode="nearest"), c3], 1))
        if self.levels == 1:
            return [p3]
        n4 = self.bu4(torch.cat([self.down3(p3), p4], 1))
        n5 = self.bu5(torch.cat([self.down4(n4), p5], 1))
        return [p3, n4, n5]
