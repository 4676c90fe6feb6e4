"""The detector contract shared by every model of :mod:`dlprimer.models.detection`.

A detector is an ``nn.Module`` built as ``create(name, num_classes=, in_channels=, image_size=)``. Images are
``Tensor[B, in_channels, S, S]`` float in ``[0, 1]`` (``S = image_size``, divisible by 32); targets are a list of
``B`` dicts ``{"boxes": Tensor[N_i, 4] xyxy pixels, "labels": Tensor[N_i] int64 in [0, num_classes)}``.

* ``training_loss(images, targets, forward=None) -> (loss, parts)``: the scalar to minimise and its named parts
  (floats); the forward pass goes through ``forward`` when given (a DDP wrapper of the model);
* ``predict(images, score_threshold, nms, iou_threshold, max_dets) -> list of {"boxes", "scores", "labels"}``
  (xyxy pixels of the network input, scores descending), and ``last_candidates``: the number of candidate
  boxes per image that entered NMS and ``last_decode_s``, the seconds decoding + NMS took for the batch
  (for ``detect compare``; ``None`` where the model decodes inside its forward pass).

One-stage models implement ``forward(images) -> raw outputs``, ``loss(outputs, targets)`` and
``candidates(outputs, score_threshold)``; ``predict`` then applies :func:`postprocess.suppress` unless the
model decodes without NMS (``uses_nms = False``: CenterNet).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn

from dlprimer._checks import check_int
from dlprimer.models.detection.backbone import CSPBackbone, ResNetBackbone
from dlprimer.models.detection.neck import PANNeck
from dlprimer.models.detection.postprocess import suppress

__all__ = ["Detector", "Prediction", "build_body", "check_detector_args"]

Prediction = dict[str, Tensor]
BACKBONES = {"csp": CSPBackbone, "resnet18": ResNetBackbone}


def check_detector_args(num_classes: int, in_channels: int, image_size: int) -> None:
    """``num_classes >= 1``, ``in_channels`` 1 or 3, ``image_size`` a positive multiple of 32."""
    check_int(num_classes, "num_classes", low=1)
    check_int(in_channels, "in_channels", low=1)
    check_int(image_size, "image_size", low=32)
    if image_size % 32:
        raise ValueError(f"image_size must be divisible by the largest stride 32, got {image_size}")


def build_body(in_channels: int, width: int, neck_channels: int, backbone: str = "csp",
               levels: int = 3) -> tuple[nn.Module, nn.Module]:
    """Backbone (``csp`` or ``resnet18``) and PAN neck; the neck outputs ``neck_channels`` at strides 8/16/32
    (``levels=1``: stride 8 only)."""
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {sorted(BACKBONES)}, got {backbone!r}")
    body = BACKBONES[backbone](in_channels, width)
    return body, PANNeck(body.out_channels, neck_channels, levels)


class Detector(nn.Module):
    """Base class (see the module docstring)."""

    strides: tuple[int, ...] = (8, 16, 32)
    uses_nms = True

    def __init__(self, num_classes: int, in_channels: int, image_size: int) -> None:
        super().__init__()
        check_detector_args(num_classes, in_channels, image_size)
        self.num_classes, self.in_channels, self.image_size = int(num_classes), int(in_channels), int(image_size)
        self.last_candidates: list[int] = []
        self.last_decode_s: float | None = None

    def head_modules(self) -> list[nn.Module]:
        """The modules counted as the detection head by ``detect compare``."""
        raise NotImplementedError

    def loss(self, outputs: Any, targets: list[dict[str, Tensor]]) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def candidates(self, outputs: Any, score_threshold: float) -> list[tuple[Tensor, Tensor, Tensor]]:
        raise NotImplementedError

    def training_loss(self, images: Tensor, targets: list[dict[str, Tensor]],
                      forward: nn.Module | None = None) -> tuple[Tensor, dict[str, float]]:
        """The loss of one batch. ``forward``: the module to call for the forward pass when it is not ``self`` —
        the ``DistributedDataParallel`` wrapper under torchrun, whose call arms the gradient all-reduce."""
        return self.loss((forward or self)(images), targets)

    @torch.no_grad()
    def predict(
        self,
        images: Tensor,
        score_threshold: float = 0.001,
        nms: str = "hard",
        iou_threshold: float = 0.6,
        max_dets: int = 100,
    ) -> list[Prediction]:
        out = []
        self.last_candidates = []
        outputs = self(images)
        started = time.perf_counter()
        for boxes, scores, labels in self.candidates(outputs, score_threshold):
            self.last_candidates.append(int(boxes.shape[0]))
            if self.uses_nms:
                boxes, scores, labels = suppress(boxes, scores, labels, nms, iou_threshold, max_dets)
            else:
                order = torch.sort(scores, descending=True, stable=True).indices[:max_dets]
                boxes, scores, labels = boxes[order], scores[order], labels[order]
            boxes = boxes.clone()
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, images.shape[-1])
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, images.shape[-2])
            out.append({"boxes": boxes, "scores": scores, "labels": labels})
        self.last_decode_s = time.perf_counter() - started
        return out


def grid_centres(h: int, w: int, stride: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``[h*w, 2]`` pixel centres ``((x + 0.5) s, (y + 0.5) s)`` of a stride-``s`` map, row-major."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype),
                            indexing="ij")
    return torch.stack([(xs.reshape(-1) + 0.5) * stride, (ys.reshape(-1) + 0.5) * stride], 1)
