"""``yolo``: anchor-based one-stage detection, YOLOv5-style (notes: "yolov5中正负样本的判断", anchor box, CIoU).

**Anchors.** 3 anchors per level at strides 8/16/32, chosen by k-means on the training boxes' ``(w, h)`` with
``1 - IoU`` of corner-aligned boxes as the distance (YOLOv2's choice: plain Euclidean k-means lets big boxes
dominate), sorted by area and dealt three per level (:func:`kmeans_anchors`). They are a buffer of the model,
so the checkpoint stores them.

**What is predicted.** Per level, cell ``(gy, gx)`` and anchor ``a``: ``5 + C`` numbers ``(tx, ty, tw, th, obj,
cls_1..C)``. Decoding (YOLOv5): ``xy = (2σ(txy) - 0.5 + cell) · stride``, ``wh = (2σ(twh))² · anchor``
(the centre may leave its cell by half a cell, the size is at most 4× the anchor), score ``σ(obj) · σ(cls)``;
every (box, class) pair above the score threshold is a candidate, then NMS.

**Targets** (:func:`dlprimer.boxes.yolov5_build_targets`): a ground truth is positive for every anchor whose
width and height ratios to it are below 4, in its own cell and the two neighbour cells nearest to its centre
(up to 9 positives per level).

**Loss** (YOLOv5 ``ComputeLoss``): CIoU loss on the positives' decoded boxes; BCE objectness on every
(anchor, cell) whose target is the positive's CIoU (detached, clamped at 0) and 0 elsewhere, weighted per level
by ``(4.0, 1.0, 0.4)`` (the fine levels hold most cells and most negatives); BCE class loss on the positives.
Gains ``box 0.05``, ``obj 1.0 · (S/640)² · 3/L`` as YOLOv5 scales its hyper-parameters, and ``cls 0.5 · 3/L``:
YOLOv5 also multiplies the class gain by ``C/80`` (tuned on COCO's 80 classes); with the 10 digit classes that
starves the class loss — measured on the embedded scenes, the class BCE did not decrease in 200 steps while the
box loss halved, and did decrease with the ``C/80`` factor dropped (``cls_gain`` restores any value).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlprimer.boxes import box_convert, yolov5_build_targets
from dlprimer.models.detection.base import Detector, build_body
from dlprimer.nn.iou_losses import ciou_loss

__all__ = ["YOLO", "kmeans_anchors"]

DEFAULT_ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


def kmeans_anchors(wh: np.ndarray, k: int = 9, seed: int = 0, iters: int = 100) -> np.ndarray:
    """``k`` anchors ``[k, 2]`` (w, h, sorted by area) by k-means on ``wh [N, 2]`` with ``1 - IoU`` distance.

    IoU of two corner-aligned boxes: ``min(w)·min(h) / (w1 h1 + w2 h2 - min(w)·min(h))``; centroids are the
    medians of their members (robust, as in YOLOv2's implementations). Fewer distinct boxes than ``k``: the
    boxes are repeated (scaled by ±10 %) to fill.
    """
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    wh = wh[(wh > 0).all(1)]
    if len(wh) == 0:
        raise ValueError("kmeans_anchors needs at least one box with positive width and height")
    rng = np.random.default_rng(seed)
    if len(np.unique(wh, axis=0)) < k:
        wh = np.concatenate([wh * f for f in np.linspace(0.9, 1.1, k)])
    centres = wh[rng.choice(len(wh), k, replace=False)]

    def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # [N, K]
        inter = np.minimum(a[:, None, 0], b[None, :, 0]) * np.minimum(a[:, None, 1], b[None, :, 1])
        return inter / (a[:, None].prod(2) + b[None].prod(2) - inter)

    assign = None
    for _ in range(iters):
        new = np.argmax(iou(wh, centres), 1)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            if np.any(assign == j):
                centres[j] = np.median(wh[assign == j], axis=0)
    return centres[np.argsort(centres.prod(1))]


class YOLO(Detector):
    """YOLOv5-style detector (see the module docstring). ``width``: backbone base channels."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 128, width: int = 16,
                 neck_channels: int = 64, backbone: str = "csp", cls_gain: float = 0.5) -> None:
        super().__init__(num_classes, in_channels, image_size)
        self.backbone, self.neck = build_body(in_channels, width, neck_channels, backbone)
        self.na, self.no = 3, 5 + num_classes
        self.heads = nn.ModuleList(nn.Conv2d(neck_channels, self.na * self.no, 1) for _ in self.strides)
        self.register_buffer("anchors", torch.tensor(DEFAULT_ANCHORS, dtype=torch.float32).view(3, 3, 2))
        self.balance = (4.0, 1.0, 0.4)
        nl = len(self.strides)
        self.gains = {"box": 0.05, "obj": 1.0 * (image_size / 640) ** 2 * 3 / nl,
                      "cls": float(cls_gain) * 3 / nl}
        for head, s in zip(self.heads, self.strides, strict=True):  # YOLOv5's prior biases
            b = head.bias.view(self.na, self.no)
            with torch.no_grad():
                b[:, 4] += math.log(8 / (image_size / s) ** 2)
                b[:, 5:] += math.log(0.6 / (num_classes - 0.99)) if num_classes > 1 else 0.0

    def set_anchors(self, anchors: np.ndarray | Tensor) -> None:
        """Replace the anchors: ``[9, 2]`` (w, h) pixels sorted by area, three per level."""
        self.anchors.copy_(torch.as_tensor(np.asarray(anchors), dtype=torch.float32).view(3, 3, 2))

    def head_modules(self) -> list[nn.Module]:
        return [self.heads]

    def forward(self, images: Tensor) -> list[Tensor]:
        feats = self.neck(self.backbone(images))
        out = []
        for f, head in zip(feats, self.heads, strict=True):
            b, _, h, w = f.shape
            out.append(head(f).view(b, self.na, self.no, h, w).permute(0, 1, 3, 4, 2))  # [B, A, H, W, 5 + C]
        return out

    def loss(self, outputs: list[Tensor], targets: list[dict[str, Tensor]]) -> tuple[Tensor, dict[str, float]]:
        device, s = outputs[0].device, float(self.image_size)
        rows = []
        for i, t in enumerate(targets):
            if len(t["boxes"]):
                cxcywh = box_convert(t["boxes"].to(device, torch.float32), "xyxy", "cxcywh") / s
                idx = torch.full((len(cxcywh), 1), float(i), device=device)
                rows.append(torch.cat([idx, t["labels"].to(device, torch.float32)[:, None], cxcywh.clamp(0, 1)], 1))
        tt = torch.cat(rows) if rows else torch.zeros((0, 6), device=device)
        assigned = yolov5_build_targets(tt, self.anchors, self.strides, self.image_size)
        lbox = lobj = lcls = torch.zeros((), device=device)
        for layer, (p, a) in enumerate(zip(outputs, assigned, strict=True)):
            p = p.float()
            tobj = torch.zeros(p.shape[:4], device=device)
            if len(a["image"]):
                ps = p[a["image"], a["anchor"], a["gy"], a["gx"]]  # [P, 5 + C]
                pxy = ps[:, :2].sigmoid() * 2 - 0.5
                pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * a["anchor_wh"]
                pbox = box_convert(torch.cat([pxy, pwh], 1), "cxcywh", "xyxy")
                tbox = box_convert(torch.cat([a["txy"], a["twh"]], 1), "cxcywh", "xyxy")
                l_ciou = ciou_loss(pbox, tbox.to(pbox.dtype))  # [P] = 1 - CIoU
                lbox = lbox + l_ciou.mean()
                tobj[a["image"], a["anchor"], a["gy"], a["gx"]] = (1 - l_ciou.detach()).clamp(0).to(tobj.dtype)
                if self.num_classes > 1:
                    tcls = F.one_hot(a["cls"], self.num_classes).to(ps.dtype)
                    lcls = lcls + F.binary_cross_entropy_with_logits(ps[:, 5:], tcls)
            lobj = lobj + F.binary_cross_entropy_with_logits(p[..., 4], tobj) * self.balance[layer]
        lbox, lobj, lcls = lbox * self.gains["box"], lobj * self.gains["obj"], lcls * self.gains["cls"]
        total = (lbox + lobj + lcls) * len(targets)  # YOLOv5 scales by the batch size
        return total, {"box": float(lbox.detach()), "obj": float(lobj.detach()), "cls": float(lcls.detach())}

    def hyperparameters(self) -> dict[str, object]:
        """The assignment/decoding settings a user must choose (for ``detect compare``)."""
        return {"anchors (w, h) px": self.anchors.view(-1, 2).round().int().tolist(), "anchor_t": 4.0, "g": 0.5,
                "nms_iou": "0.6"}

    def count_positives(self, targets: list[dict[str, Tensor]]) -> tuple[int, int]:
        """``(positive samples, all samples)`` of one batch: assigned (anchor, cell) pairs vs all of them."""
        device = self.anchors.device
        rows = [torch.cat([torch.full((len(t["boxes"]), 1), float(i)), t["labels"].float()[:, None],
                           box_convert(t["boxes"].float(), "xyxy", "cxcywh") / self.image_size], 1)
                for i, t in enumerate(targets)]
        assigned = yolov5_build_targets(torch.cat(rows).to(device).clamp(min=0), self.anchors, self.strides,
                                        self.image_size)
        total = len(targets) * sum(self.na * (self.image_size // s) ** 2 for s in self.strides)
        return sum(len(a["image"]) for a in assigned), total

    def candidates(self, outputs: list[Tensor], score_threshold: float) -> list[tuple[Tensor, Tensor, Tensor]]:
        per_level = []
        for p, stride, anc in zip(outputs, self.strides, self.anchors, strict=True):
            b, na, h, w, _ = p.shape
            p = p.float().sigmoid()
            gy, gx = torch.meshgrid(torch.arange(h, device=p.device), torch.arange(w, device=p.device), indexing="ij")
            grid = torch.stack([gx, gy], -1).view(1, 1, h, w, 2).float()
            xy = (p[..., :2] * 2 - 0.5 + grid) * stride
            wh = (p[..., 2:4] * 2) ** 2 * anc.view(1, na, 1, 1, 2)
            boxes = box_convert(torch.cat([xy, wh], -1).reshape(b, -1, 4), "cxcywh", "xyxy")
            scores = (p[..., 4:5] * p[..., 5:]).reshape(b, -1, self.num_classes)
            per_level.append((boxes, scores))
        boxes = torch.cat([x for x, _ in per_level], 1)  # [B, N, 4]
        scores = torch.cat([x for _, x in per_level], 1)  # [B, N, C]
        out = []
        for i in range(boxes.shape[0]):
            idx, cls = torch.nonzero(scores[i] > score_threshold, as_tuple=True)
            sc = scores[i][idx, cls]
            if sc.numel() > 3000:
                top = sc.topk(3000).indices
                idx, cls, sc = idx[top], cls[top], sc[top]
            out.append((boxes[i][idx], sc, cls))
        return out
