"""The two identities the vectorized accumulate rests on, against brute force."""

from __future__ import annotations

import numpy as np

from dlprimer.metrics.coco import default_rec_thresholds
from dlprimer.metrics.coco._accumulate import _reverse_segment_max, min_count_for_recall


def test_min_count_equals_searchsorted_on_cumulative_recall():
    """searchsorted(tp/npig, r, 'left') on a TP-count ramp 0..npig is the smallest c with tp/npig >= r."""
    rec = np.r_[default_rec_thresholds(), np.linspace(0, 1, 37)]
    rec.sort()
    npig = np.arange(1, 400)
    c = min_count_for_recall(npig, rec)
    assert c.shape == (len(npig), len(rec)) and c.dtype == np.int64
    for i, n in enumerate(npig):
        rc = np.arange(n + 1) / n  # recall after 0, 1, ..., n true positives (pycocotools' float division)
        np.testing.assert_array_equal(c[i], np.searchsorted(rc, rec, side="left"), err_msg=f"npig={n}")


def test_reverse_segment_max_against_loop():
    rng = np.random.default_rng(0)
    seg = np.sort(rng.integers(0, 30, 500))
    values = np.round(rng.random(500), 2)
    got = _reverse_segment_max(values, seg, 30)
    want = np.array([values[i:][seg[i:] == seg[i]].max() for i in range(500)])
    np.testing.assert_array_equal(got, want)


def test_synthetic_data_is_seeded_and_covers_the_rules():
    from dlprimer.metrics.coco.synthetic import make_coco

    a, b = make_coco(5, n_images=40), make_coco(5, n_images=40)
    assert a == b and make_coco(6, n_images=40) != a
    gt, dt = a
    anns = gt["annotations"]
    assert any(x["iscrowd"] for x in anns)
    assert {x["image_id"] for x in anns} < {im["id"] for im in gt["images"]}  # images without gt
    cats = {c["id"] for c in gt["categories"]}
    assert {x["category_id"] for x in dt} < cats  # a category without detections
    scores = [d["score"] for d in dt]
    assert len(set(scores)) < len(scores)  # tied scores
