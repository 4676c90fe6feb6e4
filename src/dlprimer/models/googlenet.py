"""GoogLeNet / Inception v1 (Szegedy et al., 2014), as torchvision builds it.

The notes' "GoogLeNet": Inception modules run 1×1, 3×3, "5×5" convolutions and a 3×3 max-pool in
parallel and concatenate the results along channels; 1×1 convolutions reduce the width before the
larger kernels; global average pooling replaces the big fully connected layers; two auxiliary
classifiers (training only) inject gradient into the middle of the network.

Layout for 224×224 (every conv is :class:`BasicConv2d` = conv without bias → BN(eps=1e-3) → ReLU)::

    conv1 7×7/2, 64 → maxpool1 3/2 (ceil) → conv2 1×1, 64 → conv3 3×3, 192 → maxpool2 3/2 (ceil)  # [N,192,28,28]
    inception3a, 3b → maxpool3 → 4a (aux1) 4b 4c 4d (aux2) 4e → maxpool4 2/2 → 5a, 5b         # [N,1024,7,7]
    adaptive avg-pool 1×1 → flatten → dropout(0.2) → fc 1024→num_classes

Compatibility with torchvision (``state_dict`` keys and shapes equal ``torchvision.models.googlenet``
with the same ``aux_logits``; ``aux_logits=False`` is how torchvision publishes its ImageNet weights):

* the "5×5" branch uses a **3×3** kernel, a known torchvision bug (pytorch/vision#906) kept so that
  its weights load; pass ``paper_5x5=True`` for the paper's 5×5 kernel (weights then no longer load).
* ``transform_input`` (default ``False`` here and in torchvision's class; torchvision's builder turns it
  on only when loading its pretrained weights) maps an input normalised with the ImageNet mean/std to
  one normalised with mean 0.5 / std 0.5 per channel, the normalisation those weights were trained on.
  It needs ``in_channels == 3``. Set it to ``True`` when you load torchvision's pretrained weights.
* ReLUs and the auxiliary heads' adaptive pool are modules here (functional calls in torchvision);
  they have no parameters, so the state_dict is unchanged, and they show up in per-layer tables.

``small_input=True`` swaps the stem for a 3×3 stride-1 conv (padding 1) and drops ``maxpool1``
(an ``Identity``): 32×32 → 32 → 16 → 8 → 4 through the remaining pools.

In training mode with ``aux_logits=True`` the forward returns :class:`GoogLeNetOutputs`
``(logits, aux_logits2, aux_logits1)``; otherwise logits ``[N, num_classes]``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from dlprimer.models._common import check_model_args
from dlprimer.models.registry import register_model


class GoogLeNetOutputs(NamedTuple):
    """Training-mode outputs with auxiliary heads, in torchvision's order."""

    logits: Tensor
    aux_logits2: Tensor | None
    aux_logits1: Tensor | None


class BasicConv2d(nn.Module):
    """Conv (no bias) → BatchNorm (eps 1e-3) → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated on channels: ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` outputs."""

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        paper_5x5: bool = False,
    ) -> None:
        super().__init__()
        k5 = 5 if paper_5x5 else 3
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=k5, padding=k5 // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        outputs = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(outputs, 1)  # [N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W]


class InceptionAux(nn.Module):
    """Auxiliary classifier: adaptive avg-pool 4×4 → 1×1 conv 128 → FC 2048→1024 → ReLU → dropout → FC."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.pool(x))  # [N, 128, 4, 4]
        x = torch.flatten(x, 1)  # [N, 2048]
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """GoogLeNet classifier. Input ``[N, in_channels, H, W]``, output logits (see the module docstring)."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = False,
        transform_input: bool = False,
        small_input: bool = False,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        paper_5x5: bool = False,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        check_model_args(num_classes, in_channels, small_input)
        if transform_input and in_channels != 3:
            raise ValueError(f"transform_input needs in_channels=3, got in_channels={in_channels}")
        self.aux_logits = bool(aux_logits)
        self.transform_input = bool(transform_input)
        if small_input:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            self.maxpool1: nn.Module = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        p5 = {"paper_5x5": paper_5x5}
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, **p5)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, **p5)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, **p5)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, **p5)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, **p5)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, **p5)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, **p5)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, **p5)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, **p5)

        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        # fine-tuning and input-size declarations (dlprimer.train.finetune, dlprimer train --image-size)
        self.head_names: tuple[str, ...] = ("fc", "aux1", "aux2") if self.aux_logits else ("fc",)
        self.stage_names: tuple[tuple[str, ...], ...] = (
            ("inception3a", "inception3b"),
            ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"),
            ("inception5a", "inception5b"),
        )
        self.min_input_size = None if small_input else 15

        if init_weights:  # torchvision's scheme
            for m in self.modules():
                if isinstance(m, nn.Conv2d | nn.Linear):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: Tensor) -> Tensor:
        """ImageNet (mean, std) normalisation → (0.5, 0.5) normalisation, channel by channel."""
        if not self.transform_input:
            return x
        x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        return torch.cat((x_ch0, x_ch1, x_ch2), 1)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))  # [N, 192, 28, 28] at 224
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # [N, 480, 14, 14]
        x = self.inception4a(x)  # [N, 512, 14, 14]
        use_aux = self.training and self.aux1 is not None and self.aux2 is not None
        aux1 = self.aux1(x) if use_aux and self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # [N, 528, 14, 14]
        aux2 = self.aux2(x) if use_aux and self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))  # [N, 832, 7, 7]
        x = self.inception5b(self.inception5a(x))  # [N, 1024, 7, 7]
        x = torch.flatten(self.avgpool(x), 1)  # [N, 1024]
        x = self.fc(self.dropout(x))
        if use_aux:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model("googlenet")
def googlenet(
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    aux_logits: bool = False,
    transform_input: bool = False,
    paper_5x5: bool = False,
) -> GoogLeNet:
    """GoogLeNet (see :class:`GoogLeNet`); 6,624,904 parameters with 1000 classes and no aux heads."""
    return GoogLeNet(
        num_classes=num_classes,
        in_channels=in_channels,
        aux_logits=aux_logits,
        transform_input=transform_input,
        small_input=small_input,
        paper_5x5=paper_5x5,
    )
