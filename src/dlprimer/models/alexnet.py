"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), torchvision's single-tower variant.

The notes' "CNN分类网络的演变脉络 / AlexNet": ReLU activations, dropout, heavy augmentation, GPU training.
Layout for a 224×224 input (torchvision's ``alexnet``; the original paper's two-GPU split and local
response normalisation are dropped, as in torchvision)::

    features:  conv 11×11/4, 64 → max-pool 3/2 → conv 5×5, 192 → max-pool 3/2
               → conv 3×3, 384 → conv 3×3, 256 → conv 3×3, 256 → max-pool 3/2      # [N, 256, 6, 6]
    avgpool:   adaptive average pool to 6×6
    classifier: dropout → FC 9216→4096 → ReLU → dropout → FC 4096→4096 → ReLU → FC → num_classes

``state_dict`` keys and shapes equal torchvision's ``alexnet`` (for ``in_channels=3``,
``small_input=False``), so its weights load with ``strict=True``.

``small_input=True`` replaces the 11×11 stride-4 stem by a 3×3 stride-1 convolution (padding 1) so a
32×32 image survives the three max-pools (32 → 15 → 7 → 3); the adaptive pool then brings the map to
6×6 as usual. The key names stay the same; the first weight's shape changes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dlprimer.models._common import check_model_args, pool_stages
from dlprimer.models.registry import register_model


class AlexNet(nn.Module):
    """AlexNet classifier. Input ``[N, in_channels, H, W]`` (H, W ≥ 63, or ≥ 7 with ``small_input``),
    output logits ``[N, num_classes]``."""

    def __init__(
        self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
    ) -> None:
        super().__init__()
        check_model_args(num_classes, in_channels, small_input)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        stem = (
            nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            if small_input
            else nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)
        )
        self.features = nn.Sequential(
            stem,
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        # fine-tuning and input-size declarations (dlprimer.train.finetune, dlprimer train --image-size)
        self.head_names: tuple[str, ...] = ("classifier",)
        self.stage_names = pool_stages(self.features, "features")
        self.min_input_size = 7 if small_input else 63

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # [N, 256, h, w]
        x = self.avgpool(x)  # [N, 256, 6, 6]
        x = torch.flatten(x, 1)  # [N, 9216]
        return self.classifier(x)


@register_model("alexnet")
def alexnet(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.5) -> AlexNet:
    """AlexNet (see :class:`AlexNet`); 61,100,840 parameters with 1000 classes."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, dropout=dropout, small_input=small_input)
