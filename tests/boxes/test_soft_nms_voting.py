"""Soft-NMS (σ -> 0 equals hard NMS, hand-worked linear decay) and box voting (naive reference)."""

import math

import pytest
import torch
import torchvision.ops as tvo
from hypothesis import given, settings
from hypothesis import strategies as st

from dlprimer.boxes import box_voting, nms, soft_nms


@st.composite
def detections(draw):
    n = draw(st.integers(0, 20))
    rows = []
    for _ in range(n):
        x, y = draw(st.integers(0, 20)), draw(st.integers(0, 20))
        w, h = draw(st.integers(1, 10)), draw(st.integers(1, 10))
        rows.append([x, y, x + w, y + h])
    boxes = torch.tensor(rows, dtype=torch.float64).reshape(-1, 4)
    scores = torch.tensor([draw(st.integers(1, 10)) / 10 for _ in range(n)], dtype=torch.float64)
    return boxes, scores


@settings(max_examples=60, deadline=None)
@given(detections())
def test_gaussian_sigma_to_zero_is_hard_nms(data):
    boxes, scores = data
    # integer boxes of side <= 10 on a 30 grid: any positive IoU is >= 1/200, so IoU^2/sigma >= 2.5e7
    keep, decayed = soft_nms(boxes, scores, sigma=1e-12, method="gaussian", score_threshold=1e-3)
    assert keep.tolist() == nms(boxes, scores, 0.0).tolist() == tvo.nms(boxes, scores, 0.0).tolist()
    torch.testing.assert_close(decayed, scores[keep], rtol=0, atol=0)


def test_linear_hand_worked():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0], [20.0, 20.0, 30.0, 30.0]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8, 0.3], dtype=torch.float64)
    keep, decayed = soft_nms(boxes, scores, iou_threshold=0.3, method="linear")
    # box 1 has IoU 0.5 >= 0.3 with box 0: 0.8 * (1 - 0.5) = 0.4, still above box 2
    assert keep.tolist() == [0, 1, 2]
    torch.testing.assert_close(decayed, torch.tensor([0.9, 0.4, 0.3], dtype=torch.float64), rtol=0, atol=1e-15)
    keep, decayed = soft_nms(boxes, scores, iou_threshold=0.6, method="linear")  # 0.5 < N_t: unchanged
    torch.testing.assert_close(decayed, torch.tensor([0.9, 0.8, 0.3], dtype=torch.float64), rtol=0, atol=0)


def test_gaussian_hand_worked_and_threshold():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8], dtype=torch.float64)
    keep, decayed = soft_nms(boxes, scores, sigma=0.5, method="gaussian")
    assert keep.tolist() == [0, 1]
    assert decayed[1].item() == pytest.approx(0.8 * math.exp(-0.25 / 0.5), abs=1e-15)
    keep, _ = soft_nms(boxes, scores, sigma=0.5, method="gaussian", score_threshold=0.5)
    assert keep.tolist() == [0]  # 0.485 < 0.5 is dropped


def test_soft_nms_empty_and_dtype():
    keep, dec = soft_nms(torch.zeros(0, 4), torch.zeros(0))
    assert keep.shape == (0,) and keep.dtype == torch.int64 and dec.shape == (0,)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 5.0, 5.0]])
    keep, dec = soft_nms(boxes.half(), torch.tensor([0.5, 0.6]).half())
    assert keep.tolist() == [1, 0] and dec.dtype == torch.float16


def test_soft_nms_bad_input():
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    with pytest.raises(ValueError, match="method must be one of"):
        soft_nms(boxes, torch.tensor([0.5]), method="cubic")
    with pytest.raises(ValueError, match="sigma must be .*> 0"):
        soft_nms(boxes, torch.tensor([0.5]), sigma=0.0)
    with pytest.raises(ValueError, match="iou_threshold must be .*>= 0"):
        soft_nms(boxes, torch.tensor([0.5]), iou_threshold=-1)
    with pytest.raises(ValueError, match="scores contains NaN"):
        soft_nms(boxes, torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match="boxes must have shape"):
        soft_nms(torch.zeros(1, 3), torch.tensor([0.5]))


def naive_voting(kept, boxes, scores, thr):
    out = []
    for k in kept:
        num, den = torch.zeros(4, dtype=torch.float64), 0.0
        for b, s in zip(boxes, scores, strict=True):
            if float(tvo.box_iou(k[None], b[None])) > thr:
                num += s * b
                den += float(s)
        out.append(num / den)
    return torch.stack(out)


def test_box_voting_matches_detectron_rule():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(60, 2, generator=g, dtype=torch.float64) * 50
    boxes = torch.cat([xy, xy + 10 + torch.rand(60, 2, generator=g, dtype=torch.float64) * 10], 1)
    scores = torch.rand(60, generator=g, dtype=torch.float64)
    keep = nms(boxes, scores, 0.5)
    voted = box_voting(boxes[keep], scores[keep], boxes, scores, 0.5)
    assert voted.shape == (keep.numel(), 4) and voted.dtype == torch.float64
    torch.testing.assert_close(voted, naive_voting(boxes[keep], boxes, scores, 0.5), rtol=0, atol=1e-12)
    assert not torch.equal(voted, boxes[keep])  # some boxes moved


def test_box_voting_hand_worked():
    kept = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [2.0, 0.0, 12.0, 10.0], [50.0, 50.0, 60.0, 60.0]])
    scores = torch.tensor([0.6, 0.2, 0.9])
    voted = box_voting(kept, torch.tensor([0.6]), boxes, scores, 0.5)
    # (0.6 * [0,0,10,10] + 0.2 * [2,0,12,10]) / 0.8 = [0.5, 0, 10.5, 10]
    torch.testing.assert_close(voted, torch.tensor([[0.5, 0.0, 10.5, 10.0]]), rtol=0, atol=1e-6)
    # a kept box that is not among `boxes` votes with its own score
    voted = box_voting(torch.tensor([[1.0, 0.0, 11.0, 10.0]]), torch.tensor([0.4]), boxes[1:2], scores[1:2], 0.5)
    torch.testing.assert_close(
        voted, torch.tensor([[(0.4 * 1 + 0.2 * 2) / 0.6, 0.0, (0.4 * 11 + 0.2 * 12) / 0.6, 10.0]])
    )


def test_box_voting_bad_input():
    b = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="scores must be non-negative"):
        box_voting(b, torch.tensor([0.5]), b, torch.tensor([-0.1]), 0.5)
    with pytest.raises(ValueError, match=r"kept_scores must have shape \[1\]"):
        box_voting(b, torch.tensor([0.5, 0.2]), b, torch.tensor([0.1]), 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be .*<= 1"):
        box_voting(b, torch.tensor([0.5]), b, torch.tensor([0.1]), 1.5)


def test_box_voting_exact_duplicate_detection_votes():
    """Regression: an exact duplicate of the kept box (same coordinates and score) is a second detection and
    votes; only the kept box's own copy is not counted twice (Detectron: mean over all boxes with IoU > t)."""
    kept = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    boxes = torch.tensor([[0.0, 0.0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 12], [50, 50, 60, 60]], dtype=torch.float64)
    scores = torch.tensor([0.6, 0.6, 0.3, 0.9], dtype=torch.float64)
    voted = box_voting(kept, torch.tensor([0.6], dtype=torch.float64), boxes, scores, 0.5)
    # IoU([0,0,10,12], kept) = 100 / 120 > 0.5: (0.6 * 10 + 0.6 * 10 + 0.3 * 12) / 1.5 = 10.4
    torch.testing.assert_close(voted, torch.tensor([[0.0, 0.0, 10.0, 10.4]], dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(voted, naive_voting(kept, boxes, scores, 0.5), rtol=0, atol=1e-12)
