"""PR curves and every AP rule vs scikit-learn, pycocotools, the VOC devkit code and hand values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from dlprimer.metrics.ap import AP_METHODS, average_precision
from dlprimer.metrics.pr_curve import best_f1_threshold, f1_confidence_curve, pr_curve


def _voc_devkit_ap(rec, prec, use_07_metric):
    """py-faster-rcnn ``voc_eval.voc_ap`` (Ross Girshick), verbatim logic: the VOC reference."""
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def _random(seed, n=50, ties=True):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    labels[0] = 1
    scores = rng.random(n)
    if ties:
        scores = np.round(scores, 1)
    return scores, labels


@pytest.mark.parametrize("seed", range(20))
def test_step_ap_equals_sklearn(seed):
    scores, labels = _random(seed, n=int(np.random.default_rng(seed).integers(1, 80)))
    c = pr_curve(scores, labels)
    assert c.precision.dtype == np.float64 and c.precision.shape == c.recall.shape == c.thresholds.shape
    got = average_precision(c, method="step")
    assert got == pytest.approx(skm.average_precision_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_step_on_sklearn_curve_order(seed):
    scores, labels = _random(seed)
    p, r, _ = skm.precision_recall_curve(labels, scores)  # decreasing recall, final (1, 0) point
    got = average_precision(recall=r, precision=p, method="step")
    assert got == pytest.approx(skm.average_precision_score(labels, scores), abs=1e-12)


def test_grouped_curve_equals_sklearn_precision_recall_curve():
    scores, labels = _random(3)
    c = pr_curve(scores, labels)
    p, r, t = skm.precision_recall_curve(labels, scores)
    # scikit-learn: increasing thresholds plus a final (P=1, R=0) point
    np.testing.assert_allclose(c.precision, p[:-1][::-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.recall, r[:-1][::-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.thresholds, t[::-1], rtol=0, atol=0)


@pytest.mark.parametrize("seed", range(10))
def test_voc_rules_equal_devkit(seed):
    scores, labels = _random(seed, ties=False)
    c = pr_curve(scores, labels, num_positives=int(labels.sum()) + 3, ties="keep")
    assert average_precision(c, method="voc07") == pytest.approx(
        _voc_devkit_ap(c.recall, c.precision, True), abs=1e-12
    )
    assert average_precision(c, method="voc") == pytest.approx(
        _voc_devkit_ap(c.recall, c.precision, False), abs=1e-12
    )


@pytest.mark.parametrize("seed", range(6))
def test_coco_rule_equals_pycocotools_single_class(seed):
    """One image, one class, detections that hit a ground truth exactly (IoU 1) or nothing (IoU 0):
    pycocotools' AP at IoU 0.5 equals the "coco" rule on the per-detection ("keep") curve."""
    from oracles import run_pycocotools

    rng = np.random.default_rng(seed)
    n_gt = 12
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": [30.0 * i, 0, 20, 20], "area": 400.0, "iscrowd": 0}
        for i in range(n_gt)
    ]
    hit = rng.permutation(n_gt)[:8]  # 8 ground truths found, 4 missed
    dets = [{"image_id": 1, "category_id": 1, "bbox": [30.0 * i, 0, 20, 20]} for i in hit]
    dets += [{"image_id": 1, "category_id": 1, "bbox": [30.0 * i, 500, 20, 20]} for i in range(10)]  # misses
    labels = np.r_[np.ones(8), np.zeros(10)]
    order = rng.permutation(len(dets))
    dets, labels = [dets[i] for i in order], labels[order]
    scores = np.round(rng.random(len(dets)), 1)  # ties: both tools keep input order
    for d, s in zip(dets, scores, strict=True):
        d["score"] = float(s)
    gt = {"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": anns}
    ev = run_pycocotools(gt, dets, iouThrs=np.array([0.5]))
    want = ev.eval["precision"][0, :, 0, 0, -1].mean()
    c = pr_curve(scores, labels, num_positives=n_gt, ties="keep")
    assert average_precision(c, method="coco") == pytest.approx(want, abs=1e-12)


def test_hand_worked_values_for_every_rule():
    """Ranking TP, FP, TP with 2 positives: P = (1, 1/2, 2/3), R = (1/2, 1/2, 1)."""
    c = pr_curve([0.9, 0.8, 0.7], [1, 0, 1])
    np.testing.assert_allclose(c.precision, [1, 0.5, 2 / 3], atol=1e-15)
    np.testing.assert_allclose(c.recall, [0.5, 0.5, 1], atol=1e-15)
    r, p = c.recall, c.precision

    def ap(method: str) -> float:
        return average_precision(recall=r, precision=p, method=method)

    assert ap("step") == pytest.approx(0.5 * 1 + 0.5 * 2 / 3, abs=1e-15)
    assert ap("voc") == pytest.approx(0.5 * 1 + 0.5 * 2 / 3, abs=1e-15)
    assert ap("voc07") == pytest.approx((6 * 1 + 5 * 2 / 3) / 11, abs=1e-15)
    assert ap("coco") == pytest.approx((51 * 1 + 50 * 2 / 3) / 101, abs=1e-15)
    # interp101 (ultralytics): points (0, 1), (.5, 1), (.5, 2/3), (1, 2/3), (1, 0); np.interp takes the
    # last of duplicate x, so y = 1 on x < .5, 2/3 on .5 <= x < 1, 0 at x = 1; trapezoids of width .01:
    want = 0.49 * 1 + 0.01 * (1 + 2 / 3) / 2 + 0.49 * (2 / 3) + 0.01 * (2 / 3) / 2
    assert ap("interp101") == pytest.approx(want, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.booleans()), min_size=1, max_size=40))
def test_rules_are_bounded_and_step_matches_sklearn(items):
    scores = np.array([s / 10 for s, _ in items])
    labels = np.array([int(b) for _, b in items])
    assume(labels.sum() > 0)
    c = pr_curve(scores, labels)
    for method in AP_METHODS:
        ap = average_precision(c, method=method)
        assert 0.0 <= ap <= 1.0 + 1e-12, method
    assert average_precision(c, method="step") == pytest.approx(
        skm.average_precision_score(labels, scores), abs=1e-12
    )


def test_best_f1_threshold_against_sklearn_curve():
    scores, labels = _random(5)
    thr, f1, p, r = best_f1_threshold(scores, labels)
    pp, rr, tt = skm.precision_recall_curve(labels, scores)
    f = np.where(pp + rr > 0, 2 * pp * rr / np.maximum(pp + rr, 1e-300), 0)[:-1]
    assert f1 == pytest.approx(f.max(), abs=1e-12)
    pred = scores >= thr
    assert skm.f1_score(labels, pred) == pytest.approx(f1, abs=1e-12)


def test_f1_confidence_curve_against_sklearn():
    scores, labels = _random(6)
    grid, f1, p, r = f1_confidence_curve(scores, labels)
    assert grid.shape == f1.shape == (101,)
    for i in (0, 17, 50, 80):
        pred = scores >= grid[i]
        if pred.any():
            assert f1[i] == pytest.approx(skm.f1_score(labels, pred), abs=1e-12)
            assert p[i] == pytest.approx(skm.precision_score(labels, pred), abs=1e-12)


def test_num_positives_lowers_recall_and_empty_input():
    c = pr_curve([0.9, 0.1], [1, 1], num_positives=4)
    np.testing.assert_allclose(c.recall, [0.25, 0.5], atol=1e-15)
    e = pr_curve([], [])
    assert e.precision.shape == (0,)
    for method in AP_METHODS:
        assert average_precision(e, method=method) == 0.0


def test_errors():
    with pytest.raises(ValueError, match="unknown AP method 'auc'; known AP methods: coco, interp101, step"):
        average_precision(recall=[0.5], precision=[1.0], method="auc")
    with pytest.raises(ValueError, match="monotone"):
        average_precision(recall=[0.5, 0.2, 0.7], precision=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="precision must lie"):
        average_precision(recall=[0.5], precision=[1.5])
    with pytest.raises(ValueError, match="equal length"):
        pr_curve([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="labels must be 0/1"):
        pr_curve([0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        pr_curve([np.nan], [1])
    with pytest.raises(ValueError, match="num_positives must be >="):
        pr_curve([0.1, 0.2], [1, 1], num_positives=1)
    with pytest.raises(ValueError, match="ties must be"):
        pr_curve([0.1], [1], ties="split")


def test_curve_passes_straight_into_ap_and_positional_mixups_raise():
    """The issue's trap: ``pr_curve`` returns precision first, AP used to take recall first, so
    ``average_precision(*pr_curve(...)[:2])`` silently computed AP of the swapped curve."""
    c = pr_curve([0.9, 0.8, 0.7], [1, 0, 1])
    want = (6 * 1 + 5 * 2 / 3) / 11  # hand-worked 11-point AP (see test_hand_worked_values_for_every_rule)
    assert average_precision(c, method="voc07") == pytest.approx(want, abs=1e-15)
    assert average_precision(recall=c.recall, precision=c.precision, method="voc07") == pytest.approx(want, abs=1e-15)
    with pytest.raises(TypeError):
        average_precision(*c[:2], method="voc07")  # precision, recall positionally
    with pytest.raises(TypeError, match="curve must be a PRCurve"):
        average_precision(c.precision)
    with pytest.raises(TypeError, match="not both"):
        average_precision(c, recall=c.recall, precision=c.precision)
    with pytest.raises(TypeError, match="needs a curve or both"):
        average_precision(recall=c.recall)
    assert [n for n in AP_METHODS] == ["coco", "interp101", "step", "voc", "voc07"]
