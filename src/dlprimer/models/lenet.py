"""LeNet-5 (LeCun et al., 1998): the notes' conv–pool–FC "三件套" (CPF).

Layout for a 32×32 input (the original's resolution)::

    conv 5×5, 6  → [6, 28, 28] → act → max-pool 2 → [6, 14, 14]
    conv 5×5, 16 → [16, 10, 10] → act → max-pool 2 → [16, 5, 5]
    flatten 400 → FC 120 → act → FC 84 → act → FC num_classes

The original used tanh-like squashing and trainable sub-sampling; this version uses ReLU (or the
``activation`` you pass) and max pooling, as modern re-implementations do. Inputs of another size
work: an adaptive average pool fixes the map at 5×5 before the classifier (identity at 32×32).
"""

from __future__ import annotations

from torch import Tensor, nn

from dlprimer.models._common import check_model_args, pool_stages
from dlprimer.models.registry import register_model

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class LeNet5(nn.Module):
    """LeNet-5 classifier. Input ``[N, in_channels, H, W]`` (H, W ≥ 16), output logits ``[N, num_classes]``."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "relu") -> None:
        super().__init__()
        check_model_args(num_classes, in_channels)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        act = _ACTIVATIONS[activation]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),
            act(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            act(),
            nn.MaxPool2d(2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((5, 5))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )
        # fine-tuning and input-size declarations (dlprimer.train.finetune, dlprimer train --image-size)
        self.head_names: tuple[str, ...] = ("classifier",)
        self.stage_names = pool_stages(self.features, "features")
        self.min_input_size = 16  # 16 → conv 12 → pool 6 → conv 2 → pool 1

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


@register_model("lenet5")
def lenet5(num_classes: int = 10, in_channels: int = 1, activation: str = "relu") -> LeNet5:
    """LeNet-5 (see :class:`LeNet5`)."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, activation=activation)
