"""DIoU-NMS against a naive pure-Python reference (the greedy rule written out with the DIoU formula)."""

from __future__ import annotations

import math

import pytest
import torch

from dlprimer.boxes.nms import batched_diou_nms, diou_nms


def _diou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    iou = inter / union if union > 0 else 0.0
    cw = max(a[2], b[2]) - min(a[0], b[0])
    ch = max(a[3], b[3]) - min(a[1], b[1])
    rho2 = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) ** 2 + ((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2) ** 2
    return iou - rho2 / (cw**2 + ch**2 + 1e-7)


def naive(boxes: list[list[float]], scores: list[float], thr: float, labels: list[int] | None = None) -> list[int]:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep: list[int] = []
    for i in order:
        if all((labels is not None and labels[i] != labels[k]) or _diou(boxes[k], boxes[i]) <= thr for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.7])
def test_diou_nms_equals_naive(seed, thr):
    g = torch.Generator().manual_seed(seed)
    n = 60
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 50
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 20 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(n, generator=g, dtype=torch.float64).round(decimals=1)  # ties
    ours = diou_nms(boxes, scores, thr).tolist()
    ref = naive(boxes.tolist(), scores.tolist(), thr)
    assert ours == ref, f"ours {ours} vs naive {ref}"
    labels = torch.randint(0, 3, (n,), generator=g)
    ours_b = batched_diou_nms(boxes, scores, labels, thr).tolist()
    ref_b = naive(boxes.tolist(), scores.tolist(), thr, labels.tolist())
    assert ours_b == ref_b, f"ours {ours_b} vs naive {ref_b}"


def test_diou_keeps_adjacent_boxes_hard_nms_removes():
    # IoU 0.6 / DIoU < 0.5: plain NMS at 0.5 removes the second box, DIoU-NMS keeps it
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [2.5, 0.0, 12.5, 10.0]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8], dtype=torch.float64)
    iou = 75 / 125
    assert math.isclose(_diou(boxes[0].tolist(), boxes[1].tolist()), iou - 2.5**2 / (12.5**2 + 10**2 + 1e-7))
    from torchvision.ops import nms

    assert nms(boxes, scores, 0.58).tolist() == [0]
    assert diou_nms(boxes, scores, 0.58).tolist() == [0, 1]


def test_diou_nms_errors_and_empty():
    assert diou_nms(torch.zeros((0, 4)), torch.zeros(0), 0.5).tolist() == []
    with pytest.raises(ValueError, match="iou_threshold"):
        diou_nms(torch.zeros((1, 4)), torch.zeros(1), -0.1)
    with pytest.raises(ValueError, match="idxs"):
        batched_diou_nms(torch.zeros((2, 4)), torch.zeros(2), torch.zeros(3, dtype=torch.long), 0.5)
