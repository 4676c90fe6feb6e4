"""``fasterrcnn``: two-stage anchor-based detection, torchvision's ``FasterRCNN`` on our CSP backbone + PAN neck.

Stage 1, the RPN: at every location of each neck level, 3 anchors (sizes 16/32/64 px at strides 8/16/32, aspect
ratios 0.5/1/2) are classified object/background and regressed; the top proposals survive NMS. Stage 2: each
proposal's features are pooled by ``MultiScaleRoIAlign`` (7×7, notes: ROI Align) from the level matching its
size, then a two-layer MLP head (width :data:`BOX_HEAD_WIDTH`; 64 RoIs sampled per image in training, 25 %
positive) classifies it into ``C + 1`` classes and refines its box; per-class NMS at the end. Nothing is
downloaded (no pretrained weights). The internal transform has ``min_size = max_size = image_size`` so the small
scenes are not rescaled to 800 px, and it normalises with mean 0 and std 1 (the images are already in
``[0, 1]``; BatchNorm follows the first convolution).

Only hard NMS is available (torchvision's ``RoIHeads`` runs it internally); ``--nms`` other than ``hard`` is
refused for this model.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import Tensor, nn

from dlprimer.models.detection.base import Detector, Prediction, build_body

__all__ = ["FasterRCNNDetector"]

#: Width of the two-layer box head. torchvision's default, 1024, is sized for 256-channel FPN features and 80
#: classes; here, with 128 RoIs sampled per image, its 3136×1024 first layer made a training step on the 128-px
#: scenes 2.5× slower than width 256 with 64 RoIs (measured: 312 vs 123 s per 4,000 scenes on one CPU thread).
BOX_HEAD_WIDTH = 256


class _Body(nn.Module):
    def __init__(self, backbone: nn.Module, neck: nn.Module) -> None:
        super().__init__()
        self.backbone, self.neck = backbone, neck
        self.out_channels = neck.out_channels

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        return OrderedDict((str(i), f) for i, f in enumerate(self.neck(self.backbone(x))))


class FasterRCNNDetector(Detector):
    """torchvision ``FasterRCNN`` wrapped in the detector contract of :mod:`.base`."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 128, width: int = 16,
                 neck_channels: int = 64, backbone: str = "csp") -> None:
        super().__init__(num_classes, in_channels, image_size)
        from torchvision.models.detection import FasterRCNN
        from torchvision.models.detection.anchor_utils import AnchorGenerator
        from torchvision.ops import MultiScaleRoIAlign

        backbone_m, neck = build_body(in_channels, width, neck_channels, backbone)
        self.backbone, self.neck = backbone_m, neck
        anchors = AnchorGenerator(sizes=((16,), (32,), (64,)), aspect_ratios=((0.5, 1.0, 2.0),) * 3)
        from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

        self.net = FasterRCNN(
            _Body(backbone_m, neck), num_classes=None, rpn_anchor_generator=anchors,
            box_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2),
            box_head=TwoMLPHead(neck.out_channels * 7 * 7, BOX_HEAD_WIDTH),
            box_predictor=FastRCNNPredictor(BOX_HEAD_WIDTH, num_classes + 1),
            min_size=image_size, max_size=image_size, image_mean=[0.0] * in_channels, image_std=[1.0] * in_channels,
            rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500, rpn_pre_nms_top_n_test=500,
            rpn_post_nms_top_n_test=300, box_batch_size_per_image=64, box_detections_per_img=100,
        )

    def head_modules(self) -> list[nn.Module]:
        return [self.net.rpn, self.net.roi_heads]

    def forward(self, images: Tensor, targets: list[dict[str, Tensor]] | None = None) -> Any:
        """torchvision's output: in eval mode a list of ``{"boxes", "labels" (1..C), "scores"}``; in training mode
        with torchvision-style ``targets`` (labels 1..C) the dict of losses."""
        return self.net(list(images), targets)

    def hyperparameters(self) -> dict[str, object]:
        """The assignment/decoding settings a user must choose (for ``detect compare``)."""
        return {"anchor sizes px": [16, 32, 64], "aspect ratios": [0.5, 1.0, 2.0], "rpn fg/bg IoU": [0.7, 0.3],
                "roi fg IoU": 0.5, "sampled anchors": "256 (50 % positive)",
                "sampled RoIs": "64 (25 % positive)", "nms_iou": "0.7 rpn, 0.6 final"}

    def count_positives(self, targets: list[dict[str, Tensor]]) -> None:
        """Not counted: the RPN samples 256 anchors per image at up to 50 % positives (balanced by design)."""
        return None

    def training_loss(self, images: Tensor, targets: list[dict[str, Tensor]],
                      forward: nn.Module | None = None) -> tuple[Tensor, dict[str, float]]:
        tv_targets = [{"boxes": t["boxes"].float(), "labels": t["labels"] + 1} for t in targets]
        losses = (forward or self)(images, tv_targets)
        return sum(losses.values()), {k.replace("loss_", ""): float(v.detach()) for k, v in losses.items()}

    @torch.no_grad()
    def predict(self, images: Tensor, score_threshold: float = 0.001, nms: str = "hard", iou_threshold: float = 0.6,
                max_dets: int = 100) -> list[Prediction]:
        if nms != "hard":
            raise ValueError(f"nms {nms!r} is not available for fasterrcnn (torchvision's RoIHeads runs hard NMS)")
        heads = self.net.roi_heads
        heads.score_thresh, heads.nms_thresh, heads.detections_per_img = score_threshold, iou_threshold, max_dets
        out = self.net(list(images))
        self.last_candidates = [int(self.net.rpn.post_nms_top_n()) * self.num_classes] * len(out)
        return [{"boxes": o["boxes"], "scores": o["scores"], "labels": o["labels"] - 1} for o in out]
