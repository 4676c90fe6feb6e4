"""Detection confusion matrix vs a hand-worked case and a plain sequential greedy (the definition)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from dlprimer.metrics.detection_confusion import detection_confusion_matrix


def _reference(gb, gl, db, dl, ds, k, iou_thr, score_thr):
    """Per image: IoU from torchvision, pairs by decreasing IoU, take a pair when both ends are free."""
    c = np.zeros((k + 1, k + 1), dtype=np.int64)
    for g_b, g_l, d_b, d_l, d_s in zip(gb, gl, db, dl, ds, strict=True):
        keep = d_s >= score_thr
        d_b, d_l = d_b[keep], d_l[keep]
        iou = box_iou(
            torch.as_tensor(g_b, dtype=torch.float64).reshape(-1, 4),
            torch.as_tensor(d_b, dtype=torch.float64).reshape(-1, 4),
        ).numpy()
        pairs = sorted(
            ((iou[i, j], i, j) for i in range(iou.shape[0]) for j in range(iou.shape[1]) if iou[i, j] > iou_thr),
            key=lambda x: -x[0],
        )
        gu, du = set(), set()
        for _, i, j in pairs:
            if i not in gu and j not in du:
                gu.add(i)
                du.add(j)
                c[g_l[i], d_l[j]] += 1
        for i in range(len(g_l)):
            if i not in gu:
                c[g_l[i], k] += 1
        for j in range(len(d_l)):
            if j not in du:
                c[k, d_l[j]] += 1
    return c


def test_hand_worked():
    gb = [np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], dtype=float)]
    gl = [np.array([0, 1, 1])]
    db = [np.array([[0, 0, 10, 10], [20, 20, 30, 31], [100, 100, 110, 110], [0, 0, 10, 10]], dtype=float)]
    dl = [np.array([0, 0, 1, 1])]
    ds = [np.array([0.9, 0.8, 0.7, 0.1])]  # the last one is below the score threshold
    c = detection_confusion_matrix(gb, gl, db, dl, ds, num_classes=2)
    want = np.array(
        [
            [1, 0, 0],  # class 0 found as 0
            [1, 0, 1],  # class 1: one predicted as 0 (confusion), one missed
            [0, 1, 0],  # one false positive of class 1
        ]
    )
    assert c.shape == (3, 3) and c.dtype == np.int64
    np.testing.assert_array_equal(c, want)


@pytest.mark.parametrize("seed", range(8))
def test_equals_sequential_greedy(seed):
    rng = np.random.default_rng(seed)
    k = 3
    gb, gl, db, dl, ds = [], [], [], [], []
    for _ in range(int(rng.integers(1, 6))):
        n_g, n_d = int(rng.integers(0, 8)), int(rng.integers(0, 12))
        g = rng.uniform(0, 50, (n_g, 2))
        g = np.concatenate([g, g + rng.uniform(5, 30, (n_g, 2))], axis=1)
        src = rng.integers(0, max(n_g, 1), n_d)
        d = g[src] + rng.normal(0, 4, (n_d, 4)) if n_g else rng.uniform(0, 50, (n_d, 4))
        d[:, 2:] = np.maximum(d[:, 2:], d[:, :2] + 1)
        gb.append(g)
        gl.append(rng.integers(0, k, n_g))
        db.append(d)
        dl.append(rng.integers(0, k, n_d))
        ds.append(rng.random(n_d))
    got = detection_confusion_matrix(gb, gl, db, dl, ds, k, iou_threshold=0.3, score_threshold=0.2)
    np.testing.assert_array_equal(got, _reference(gb, gl, db, dl, ds, k, 0.3, 0.2))
    assert got.sum() >= sum(map(len, gl))


def test_errors():
    one = [np.zeros((1, 4))]
    with pytest.raises(ValueError, match="one entry per image"):
        detection_confusion_matrix(one, [np.array([0])], [], [], [], 2)
    with pytest.raises(ValueError, match=r"gt_labels must lie in 0\.\.1"):
        detection_confusion_matrix(one, [np.array([5])], one, [np.array([0])], [np.array([1.0])], 2)
    with pytest.raises(ValueError, match="num_classes"):
        detection_confusion_matrix(one, [np.array([0])], one, [np.array([0])], [np.array([1.0])], 0)
    with pytest.raises(ValueError, match="det_boxes must be finite"):
        detection_confusion_matrix(
            one, [np.array([0])], [np.full((1, 4), np.nan)], [np.array([0])], [np.array([1.0])], 2
        )
