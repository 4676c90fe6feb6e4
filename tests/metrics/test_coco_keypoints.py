"""iou_type="keypoints" (OKS) vs pycocotools' COCOeval: stats, precision, recall, scores and text, bitwise."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.coco._keypoints import oks_pairs
from dlprimer.metrics.coco.synthetic import make_coco_keypoints


@pytest.mark.parametrize("seed", range(12))
def test_keypoints_equal_pycocotools(seed, pycoco, same):
    rng = np.random.default_rng(300 + seed)
    gt, dt = make_coco_keypoints(
        seed, n_images=int(rng.integers(8, 16)), n_categories=int(rng.integers(1, 4)),
        dt_per_image=float(rng.uniform(3, 12)),
    )  # fmt: skip
    assert any(a["num_keypoints"] == 0 for a in gt["annotations"]) or seed % 2  # the ignore rule is exercised
    gt0, dt0 = copy.deepcopy(gt), copy.deepcopy(dt)
    ev = pycoco(gt, dt, "keypoints")
    ours = evaluate(gt, dt, iou_type="keypoints")
    for name in ("precision", "recall", "scores"):
        same(getattr(ours, name), ev.eval[name], name)
    same(ours.stats, ev.stats, "stats")
    assert ours.summary().splitlines() == ev.printed.strip("\n").splitlines()
    names = ["AP", "AP50", "AP75", "AP_medium", "AP_large", "AR@20", "AR50@20", "AR75@20", "AR_medium@20"]
    assert [s.name for s in ours.named_stats] == [*names, "AR_large@20"]
    assert gt == gt0 and dt == dt0  # nothing mutated


@pytest.mark.parametrize("seed", range(3))
def test_custom_sigmas_and_caps_equal_pycocotools(seed, pycoco, same):
    gt, dt = make_coco_keypoints(seed, n_images=10, n_keypoints=5)
    sigmas = np.array([0.3, 0.5, 0.7, 0.9, 1.1]) / 10
    ev = pycoco(gt, dt, "keypoints", kpt_oks_sigmas=sigmas, maxDets=[5])
    ours = evaluate(gt, dt, iou_type="keypoints", kpt_oks_sigmas=sigmas, max_dets=(5,))
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")


def test_results_with_boxes_take_the_box_area_as_pycocotools(pycoco, same):
    """loadRes takes its box branch when the first result has a bbox: area = w*h of that box."""
    gt, dt = make_coco_keypoints(4, n_images=10)
    for i, d in enumerate(dt):
        d["bbox"] = [10.0, 10.0, 5.0 + 40 * (i % 7), 5.0 + 30 * (i % 5)]
    ev = pycoco(gt, dt, "keypoints")
    ours = evaluate(gt, dt, iou_type="keypoints")
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")


def test_oks_hand_worked():
    """One keypoint at distance d from the truth: OKS = exp(-d² / (2σ)² / area / 2)."""
    gt_kp = np.array([[[10.0, 10.0, 2.0]]])
    dt_kp = np.array([[[13.0, 14.0, 1.0]]])  # distance 5
    sigma, area = 0.1, 400.0
    got = oks_pairs(dt_kp, gt_kp, np.array([[0.0, 0.0, 20.0, 20.0]]), np.array([area]), np.array([sigma]))
    assert got[0] == pytest.approx(np.exp(-25 / (2 * sigma) ** 2 / area / 2), rel=1e-12)


def test_keypoint_errors_name_record_and_field():
    gt, dt = make_coco_keypoints(0, n_images=5)
    bad = copy.deepcopy(dt)
    bad[2]["keypoints"] = bad[2]["keypoints"][:-3]
    with pytest.raises(ValueError, match=r"results\[2\]\.keypoints must be a list of 51 numbers"):
        evaluate(gt, bad, iou_type="keypoints")
    bad = copy.deepcopy(gt)
    del bad["annotations"][1]["num_keypoints"]
    with pytest.raises(ValueError, match=r"annotations\[1\] is missing the required key 'num_keypoints'"):
        evaluate(bad, dt, iou_type="keypoints")
    with pytest.raises(ValueError, match="kpt_oks_sigmas must be a non-empty list of positive numbers"):
        evaluate(gt, dt, iou_type="keypoints", kpt_oks_sigmas=[0.1, -1])
