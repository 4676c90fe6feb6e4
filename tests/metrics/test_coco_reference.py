"""The per-image reference evaluator (for learners) is a second oracle: it equals pycocotools bitwise, and
the fast evaluator equals it; and the evaluator's phases run in order with named results."""

from __future__ import annotations

import numpy as np
import pytest

from dlprimer.metrics.coco import COCOEvaluator, evaluate
from dlprimer.metrics.coco.reference import evaluate_reference
from dlprimer.metrics.coco.synthetic import make_coco


@pytest.mark.parametrize("seed", range(4))
def test_reference_equals_pycocotools_and_ours(seed, pycoco, same):
    rng = np.random.default_rng(50 + seed)
    gt, dt = make_coco(
        100 + seed,
        n_images=int(rng.integers(6, 12)),
        n_categories=int(rng.integers(3, 5)),
        dt_per_image=float(rng.uniform(5, 25)),
        crowd_fraction=0.15,
        tie_fraction=0.5,
    )
    max_dets = (1, 3, 10) if seed % 2 else (1, 10, 100)
    precision, recall = evaluate_reference(gt, dt, max_dets=max_dets)
    ev = pycoco(gt, dt, maxDets=list(max_dets))
    same(precision, ev.eval["precision"], "reference precision")
    same(recall, ev.eval["recall"], "reference recall")
    ours = evaluate(gt, dt, max_dets=max_dets)
    same(ours.precision, precision, "precision", tool="reference")
    same(ours.recall, recall, "recall", tool="reference")


def test_reference_custom_area_ranges_equal_ours(same):
    gt, dt = make_coco(9, n_images=8, n_categories=3)
    areas = {"all": (0.0, 1e10), "tiny": (0.0, 40.0**2), "big": (40.0**2, 1e10)}
    precision, recall = evaluate_reference(gt, dt, area_ranges=areas)
    ours = evaluate(gt, dt, area_ranges=areas)
    same(ours.precision, precision, "precision", tool="reference")
    same(ours.recall, recall, "recall", tool="reference")


def test_run_calls_the_phases_in_order(monkeypatch):
    gt, dt = make_coco(1, n_images=5, n_categories=3)
    ev = COCOEvaluator(gt, dt)
    calls = []
    for name in ("match", "accumulate", "summarize"):
        method = getattr(ev, name)
        monkeypatch.setattr(ev, name, lambda m=method, n=name: (calls.append(n), m())[1])
    result = ev.run()
    assert calls == ["match", "accumulate", "summarize"]
    assert ev.matches is not None and ev.tables is not None and ev.result is result


def test_stats_carry_their_names_as_data(pycoco):
    gt, dt = make_coco(4, n_images=10, n_categories=3)
    result = evaluate(gt, dt)
    names = [s.name for s in result.named_stats]
    assert names == ["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
                     "AR@1", "AR@10", "AR@100", "AR_small@100", "AR_medium@100", "AR_large@100"]  # fmt: skip
    assert [s.value for s in result.named_stats] == result.stats.tolist()
    small = result.named_stats[3]
    assert (small.kind, small.iou, small.area, small.max_det) == ("AP", None, "small", 100)
    assert result.named_stats[1].iou == 0.5
    assert result.to_dict()["stats"] == dict(zip(names, result.stats.tolist(), strict=True))
    # the text is rendered from the records and equals pycocotools' printout
    assert result.summary().splitlines() == pycoco(gt, dt).printed.strip("\n").splitlines()
