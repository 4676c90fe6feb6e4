"""``fcos``: anchor-free per-pixel detection (Tian et al., ICCV 2019; notes: Anchor-free与Anchor-based区别).

Anchor-free, how it works (the notes' "[ ] Anchor-free原理介绍", FCOS's half):

**Target assignment.** Every feature-map location ``(x, y)`` of every level (its pixel centre
``((i + 0.5) s, (j + 0.5) s)``) is a training sample, no anchor boxes. A location is positive for a ground
truth when (1) it lies inside the box and within ``center_radius · s`` of the box centre (FCOS's centre
sampling), and (2) its regression distances ``(l, t, r, b)`` to the four sides have ``max(l, t, r, b)`` within
the level's scale range ``[m_{i-1}, m_i]``: each level handles one range of object sizes (FPN multi-level
prediction replaces the anchors' sizes). A location claimed by several boxes takes the one of smallest area.
Here the ranges are ``(0, 2·8], (16, 2·16], (32, ∞)`` for strides 8/16/32, FCOS's ``(0, 64], (64, 128], ...``
rescaled to the 12–48 px objects of the embedded scenes. Everything else is negative: with ~1 positive per 30
locations the classes are extremely imbalanced (the notes: 正负样本极端不平衡), hence the focal loss.

**What is predicted.** Per location: ``C`` class logits (focal loss, α 0.25, γ 2), four distances
``ltrb = exp(scale_l · t) · s`` (a learnable scale per level; GIoU loss on the positives, weighted by the
centerness target) and one *centerness* logit with target ``sqrt(min(l,r)/max(l,r) · min(t,b)/max(t,b))``
(BCE on the positives): 1 at the box centre, falling to 0 at its sides, so off-centre locations, which predict
poor boxes, are ranked lower.

**Decoding.** ``score = sqrt(σ(cls) · σ(centerness))``; each (location, class) above the threshold gives the box
``(x - l, y - t, x + r, y + b)``; then NMS (the notes: FCOS使用了NMS — neighbouring locations predict the
same object). One box per location, where an anchor-based head predicts 3: a third of the head's box outputs
(the notes' "少2/3参数量" is about these outputs, not the whole network; ``detect compare`` measures it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlprimer.models.detection.base import Detector, build_body, grid_centres
from dlprimer.nn.iou_losses import giou_loss
from dlprimer.nn.losses import sigmoid_focal_loss

__all__ = ["FCOS"]


def _tower(c: int, n: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(n):
        layers += [nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(8, c), nn.SiLU(inplace=True)]
    return nn.Sequential(*layers)


class FCOS(Detector):
    """FCOS with centre sampling (see the module docstring)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 128, width: int = 16,
                 neck_channels: int = 64, backbone: str = "csp", tower: int = 2, center_radius: float = 1.5) -> None:
        super().__init__(num_classes, in_channels, image_size)
        self.backbone, self.neck = build_body(in_channels, width, neck_channels, backbone)
        c = neck_channels
        self.cls_tower, self.reg_tower = _tower(c, tower), _tower(c, tower)
        self.cls_out = nn.Conv2d(c, num_classes, 3, padding=1)
        self.reg_out = nn.Conv2d(c, 4, 3, padding=1)
        self.ctr_out = nn.Conv2d(c, 1, 3, padding=1)
        self.scales = nn.Parameter(torch.ones(len(self.strides)))
        self.center_radius = float(center_radius)
        self.ranges = ((0.0, 2.0 * self.strides[0]), (2.0 * self.strides[0], 2.0 * self.strides[1]),
                       (2.0 * self.strides[1], math.inf))
        nn.init.constant_(self.cls_out.bias, -math.log((1 - 0.01) / 0.01))  # prior 0.01 (RetinaNet)
        for m in (self.cls_out, self.reg_out, self.ctr_out):
            nn.init.normal_(m.weight, std=0.01)

    def head_modules(self) -> list[nn.Module]:
        return [self.cls_tower, self.reg_tower, self.cls_out, self.reg_out, self.ctr_out]

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        feats = self.neck(self.backbone(images))
        cls, reg, ctr, shapes = [], [], [], []
        for level, f in enumerate(feats):
            b, _, h, w = f.shape
            r = self.reg_tower(f)
            cls.append(self.cls_out(self.cls_tower(f)).flatten(2).transpose(1, 2))  # [B, HW, C]
            t = (self.scales[level] * self.reg_out(r)).clamp(max=8.0)
            reg.append((t.exp() * self.strides[level]).flatten(2).transpose(1, 2))  # [B, HW, 4] ltrb pixels
            ctr.append(self.ctr_out(r).flatten(2).transpose(1, 2))  # [B, HW, 1]
            shapes.append((h, w))
        return {"cls": torch.cat(cls, 1), "reg": torch.cat(reg, 1), "ctr": torch.cat(ctr, 1)[..., 0],
                "shapes": shapes}

    def _points(self, shapes: list[tuple[int, int]], device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        pts, lo, hi, st = [], [], [], []
        for (h, w), s, (a, b) in zip(shapes, self.strides, self.ranges, strict=True):
            pts.append(grid_centres(h, w, s, device, torch.float32))
            lo.append(torch.full((h * w,), a, device=device))
            hi.append(torch.full((h * w,), b, device=device))
            st.append(torch.full((h * w,), float(s), device=device))
        return torch.cat(pts), torch.stack([torch.cat(lo), torch.cat(hi)], 1), torch.cat(st)

    def assign(self, points: Tensor, ranges: Tensor, strides: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """For ``P`` points: the matched box index (``-1`` negative) ``[P]`` and ltrb targets ``[P, 4]``."""
        if boxes.shape[0] == 0:
            return torch.full((points.shape[0],), -1, device=points.device), torch.zeros_like(points).repeat(1, 2)
        x, y = points[:, 0:1], points[:, 1:2]  # [P, 1]
        ltrb = torch.stack([x - boxes[:, 0], y - boxes[:, 1], boxes[:, 2] - x, boxes[:, 3] - y], 2)  # [P, G, 4]
        inside = ltrb.min(2).values > 0
        cxy = (boxes[:, :2] + boxes[:, 2:]) / 2  # [G, 2]
        radius = self.center_radius * strides[:, None]  # [P, 1]
        near = ((x - cxy[:, 0]).abs() < radius) & ((y - cxy[:, 1]).abs() < radius)
        m = ltrb.max(2).values
        in_range = (m > ranges[:, 0:1]) & (m <= ranges[:, 1:2])
        area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand_as(m)
        area = torch.where(inside & near & in_range, area, torch.full_like(area, math.inf))
        best_area, best = area.min(1)
        best = torch.where(torch.isinf(best_area), torch.full_like(best, -1), best)
        return best, ltrb[torch.arange(points.shape[0], device=points.device), best.clamp(min=0)]

    def loss(self, outputs: dict, targets: list[dict[str, Tensor]]) -> tuple[Tensor, dict[str, float]]:
        cls, reg, ctr = outputs["cls"].float(), outputs["reg"].float(), outputs["ctr"].float()
        device = cls.device
        points, ranges, strides = self._points(outputs["shapes"], device)
        cls_t = torch.zeros_like(cls)
        pos_mask, ltrb_t = [], []
        for i, t in enumerate(targets):
            boxes = t["boxes"].to(device, torch.float32)
            best, ltrb = self.assign(points, ranges, strides, boxes)
            pos = best >= 0
            cls_t[i, pos, t["labels"].to(device)[best[pos]]] = 1.0
            pos_mask.append(pos)
            ltrb_t.append(ltrb)
        pos = torch.stack(pos_mask)  # [B, P]
        n_pos = max(float(pos.sum()), 1.0)
        l_cls = sigmoid_focal_loss(cls, cls_t, alpha=0.25, gamma=2.0, reduction="sum") / n_pos
        if bool(pos.any()):
            t = torch.stack(ltrb_t)[pos]  # [N, 4]
            p = reg[pos]
            lr, tb = t[:, [0, 2]], t[:, [1, 3]]
            ctr_t = torch.sqrt((lr.min(1).values / lr.max(1).values) * (tb.min(1).values / tb.max(1).values))
            pts = points[None].expand(pos.shape[0], -1, -1)[pos]
            as_box = lambda d: torch.cat([pts - d[:, :2], pts + d[:, 2:]], 1)  # noqa: E731
            l_reg = (giou_loss(as_box(p), as_box(t)) * ctr_t).sum() / ctr_t.sum().clamp(min=1e-6)
            l_ctr = F.binary_cross_entropy_with_logits(ctr[pos], ctr_t, reduction="sum") / n_pos
        else:
            l_reg = l_ctr = reg.sum() * 0.0
        parts = {"cls": float(l_cls.detach()), "giou": float(l_reg.detach()), "ctr": float(l_ctr.detach())}
        return l_cls + l_reg + l_ctr, parts

    def hyperparameters(self) -> dict[str, object]:
        """The assignment/decoding settings a user must choose (for ``detect compare``)."""
        return {"scale ranges px": [list(r) for r in self.ranges], "center_radius": self.center_radius,
                "nms_iou": "0.6"}

    def count_positives(self, targets: list[dict[str, Tensor]]) -> tuple[int, int]:
        """``(positive locations, all locations)`` of one batch."""
        shapes = [(self.image_size // s, self.image_size // s) for s in self.strides]
        points, ranges, strides = self._points(shapes, self.scales.device)
        pos = sum(int((self.assign(points, ranges, strides, t["boxes"].float().to(points.device))[0] >= 0).sum())
                  for t in targets)
        return pos, len(targets) * points.shape[0]

    def candidates(self, outputs: dict, score_threshold: float) -> list[tuple[Tensor, Tensor, Tensor]]:
        points, _, _ = self._points(outputs["shapes"], outputs["cls"].device)
        scores = torch.sqrt(outputs["cls"].float().sigmoid() * outputs["ctr"].float().sigmoid()[..., None])
        reg = outputs["reg"].float()
        out = []
        for i in range(scores.shape[0]):
            idx, c = torch.nonzero(scores[i] > score_threshold, as_tuple=True)
            sc = scores[i][idx, c]
            if sc.numel() > 3000:
                top = sc.topk(3000).indices
                idx, c, sc = idx[top], c[top], sc[top]
            d = reg[i][idx]
            out.append((torch.cat([points[idx] - d[:, :2], points[idx] + d[:, 2:]], 1), sc, c))
        return out
