"""Detectors on a shared CSP backbone + PAN neck, behind ``Registry("detector")`` (notes: 目标检测基础知识,
Anchor-free与Anchor-based区别).

>>> from dlprimer.models import detection
>>> detection.list_detectors()
['centernet', 'fasterrcnn', 'fcos', 'yolo']
>>> model = detection.create("fcos", num_classes=10, in_channels=1, image_size=64)

* ``yolo`` — anchor-based one-stage (YOLOv5-style), :mod:`.yolo`;
* ``fcos`` — anchor-free per-pixel, :mod:`.fcos`;
* ``centernet`` — anchor-free keypoint, no NMS, :mod:`.centernet`;
* ``fasterrcnn`` — two-stage anchor-based, torchvision's ``FasterRCNN`` on our backbone, :mod:`.fasterrcnn`.

Every detector follows the contract of :mod:`.base` (``training_loss``, ``predict``).
"""

from __future__ import annotations

from typing import Any

from dlprimer._registry import Registry
from dlprimer.models.detection.base import Detector
from dlprimer.models.detection.centernet import CenterNet
from dlprimer.models.detection.fasterrcnn import FasterRCNNDetector
from dlprimer.models.detection.fcos import FCOS
from dlprimer.models.detection.yolo import YOLO, kmeans_anchors

__all__ = ["DETECTORS", "CenterNet", "Detector", "FCOS", "FasterRCNNDetector", "YOLO", "create", "kmeans_anchors",
           "list_detectors"]

DETECTORS: Registry = Registry("detector")
DETECTORS.add("yolo", YOLO)
DETECTORS.add("fcos", FCOS)
DETECTORS.add("centernet", CenterNet)
DETECTORS.add("fasterrcnn", FasterRCNNDetector)


def create(name: str, num_classes: int = 10, in_channels: int = 1, image_size: int = 128, **kwargs: Any) -> Detector:
    """Build the detector registered as ``name``; unknown names raise ``ValueError`` listing the known ones."""
    return DETECTORS.create(name, num_classes=num_classes, in_channels=in_channels, image_size=image_size, **kwargs)


def list_detectors() -> list[str]:
    """Registered detector names."""
    return DETECTORS.names()
