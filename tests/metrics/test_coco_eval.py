"""COCO evaluator vs pycocotools' COCOeval (the oracle): stats, precision, recall, scores, text."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlprimer.metrics.coco import COCOEvaluator, evaluate
from dlprimer.metrics.coco.synthetic import make_coco


@pytest.mark.parametrize("seed", range(24))
def test_equals_pycocotools_on_generated_data(seed, pycoco, same):
    rng = np.random.default_rng(1000 + seed)
    gt, dt = make_coco(
        seed,
        n_images=int(rng.integers(15, 30)),
        n_categories=int(rng.integers(3, 7)),
        gt_per_image=float(rng.uniform(3, 8)),
        dt_per_image=float(rng.uniform(5, 60)),
        crowd_fraction=0.1,
        tie_fraction=float(rng.uniform(0, 0.8)),
    )
    # the data must exercise the rules this test is about
    assert any(a["iscrowd"] for a in gt["annotations"])
    areas = np.array([a["area"] for a in gt["annotations"]])
    assert areas.min() < 32**2 and areas.max() > 96**2
    ev = pycoco(gt, dt)
    ours = evaluate(gt, dt)
    same(ours.stats, ev.stats, "stats")
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.scores, ev.eval["scores"], "scores")


def test_summary_text_equals_pycocotools_printout(pycoco):
    gt, dt = make_coco(3, n_images=15, n_categories=4)
    ev = pycoco(gt, dt)
    assert evaluate(gt, dt).summary().splitlines() == ev.printed.strip("\n").splitlines()


@pytest.mark.parametrize(
    "params",
    [
        {"maxDets": [1, 5, 20]},
        {"maxDets": [2, 3, 4]},
        {"iouThrs": np.array([0.1, 0.5, 0.75, 1.0])},
        {"iouThrs": np.array([0.0, 0.5])},
        {"recThrs": np.linspace(0, 1, 11)},
    ],
)
def test_custom_parameters_equal_pycocotools(params, pycoco, same):
    gt, dt = make_coco(7, n_images=20, n_categories=4, dt_per_image=40)
    ev = pycoco(gt, dt, **params)
    ours = evaluate(
        gt,
        dt,
        max_dets=params.get("maxDets", (1, 10, 100)),
        iou_thresholds=params.get("iouThrs"),
        rec_thresholds=params.get("recThrs"),
    )
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.scores, ev.eval["scores"], "scores")
    # pycocotools' first row hard-codes maxDets=100 (cocoapi #558); the other rows use maxDets[2]
    same(ours.stats[1:], ev.stats[1:], "stats[1:]")


def test_custom_area_ranges_equal_pycocotools(pycoco, same):
    gt, dt = make_coco(11, n_images=20, n_categories=3)
    rng = [[0, 1e10], [0, 50**2], [50**2, 1e10]]
    ev = pycoco(gt, dt, areaRng=rng, areaRngLbl=["all", "tiny", "big"])
    ours = evaluate(gt, dt, area_ranges={"all": rng[0], "tiny": rng[1], "big": rng[2]})
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    # custom ranges: AP, AP50, AP75, AR@1, AR@10, AR@100 in stats, per-range values in a table
    assert ours.stats.shape == (6,)
    np.testing.assert_allclose(ours.stats[[0, 1, 2]], ev.stats[[0, 1, 2]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.stats[3:], ev.stats[6:9], rtol=0, atol=1e-12)
    p = ev.eval["precision"][..., 1, -1]
    assert ours.per_area["tiny"]["AP"] == pytest.approx(np.mean(p[p > -1]), abs=1e-12)


def test_standard_ranges_given_as_a_list_keep_the_12_numbers(pycoco, same):
    gt, dt = make_coco(14, n_images=10, n_categories=3)
    rng = [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]]
    ours = evaluate(gt, dt, area_ranges=rng)
    same(ours.stats, pycoco(gt, dt).stats, "stats")


def test_custom_max_dets_used_in_every_row(pycoco):
    """pycocotools #558: with maxDets (1, 10, 300) its first row looks up 100 and prints -1."""
    gt, dt = make_coco(5, n_images=10, n_categories=3, dt_per_image=30)
    ev = pycoco(gt, dt, maxDets=[1, 10, 300])
    ours = evaluate(gt, dt, max_dets=(300, 1, 10))  # any order: sorted as pycocotools
    assert ev.stats[0] == -1
    p = ev.eval["precision"][:, :, :, 0, 2]
    assert ours.stats[0] == pytest.approx(np.mean(p[p > -1]), abs=1e-12)
    assert ours.max_dets == (1, 10, 300)


def test_empty_detections_give_zero_where_gt_and_minus_one_elsewhere():
    gt, _ = make_coco(2, n_images=8, n_categories=4)
    ours = evaluate(gt, [])
    has_gt = np.zeros(4, dtype=bool)
    cats = [c["id"] for c in gt["categories"]]
    for a in gt["annotations"]:
        if not a["iscrowd"]:
            has_gt[cats.index(a["category_id"])] = True
    assert ours.precision.shape == (10, 101, 4, 4, 3)
    assert np.all(ours.precision[:, :, has_gt, 0, :] == 0)
    assert np.all(ours.precision[:, :, ~has_gt, 0, :] == -1)
    assert ours.stats[0] == 0.0


def test_no_ground_truth_at_all_gives_minus_one():
    gt = {"images": [{"id": 1}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}
    dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]
    ours = evaluate(gt, dt)
    assert np.all(ours.stats == -1)


def test_hand_worked_single_class():
    """Two ground truths, three detections: TP (0.9), FP (0.8), TP (0.7).

    Precision at the TPs: 1/1 and 2/3; envelope: 1 for recall <= 0.5, 2/3 up to recall 1.
    AP at every threshold (IoU 1 matches): (51·1 + 50·(2/3)) / 101.
    """
    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 100, "iscrowd": 0},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [200, 200, 10, 10], "score": 0.8},
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.7},
    ]
    ours = evaluate(gt, dt)
    expected = (51 * 1.0 + 50 * (2 / (3 + np.spacing(1)))) / 101
    assert ours.stats[0] == pytest.approx(expected, abs=1e-12)
    assert ours.stats[8] == pytest.approx(1.0, abs=1e-12)  # AR@100
    assert ours.stats[6] == pytest.approx(0.5, abs=1e-12)  # AR@1


def test_inputs_not_mutated():
    gt, dt = make_coco(4, n_images=6, n_categories=3)
    gt0, dt0 = copy.deepcopy(gt), copy.deepcopy(dt)
    evaluate(gt, dt)
    assert gt == gt0 and dt == dt0


def test_ground_truth_id_zero(pycoco, same):
    """pycocotools treats a match to ground truth id 0 as no match; we warn, and copy it on request."""
    gt, dt = make_coco(6, n_images=10, n_categories=3)
    gt = copy.deepcopy(gt)
    gt["annotations"][0]["id"] = 0
    ev = pycoco(gt, dt)
    compat = evaluate(gt, dt, compat_gt_id_zero=True)
    same(compat.precision, ev.eval["precision"], "precision (compat)")
    with pytest.warns(UserWarning, match="id 0"):
        fixed = evaluate(gt, dt)
    # renumbering ids gives pycocotools' own correct answer, which equals ours
    gt2 = copy.deepcopy(gt)
    gt2["annotations"][0]["id"] = 10**6
    same(fixed.precision, pycoco(gt2, dt).eval["precision"], "precision (ids renumbered)")


def test_phases_and_per_class_table(pycoco):
    gt, dt = make_coco(8, n_images=12, n_categories=4)
    ev = COCOEvaluator(gt, dt)
    m = ev.match()
    assert m.gt_ignore.shape == (4, len(gt["annotations"]))
    ev.accumulate()
    res = ev.summarize()
    pe = pycoco(gt, dt).eval["precision"]
    for k, row in enumerate(res.per_class):
        p = pe[:, :, k, 0, -1]
        want = np.mean(p[p > -1]) if (p > -1).any() else -1
        assert row["AP"] == pytest.approx(want, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert res.to_dict()["stats_list"] == [float(s) for s in res.stats]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"iou_type": "keypoint"}, "iou_type"),
        ({"max_dets": (0, 10)}, "max_dets"),
        ({"max_dets": (10, 10)}, "max_dets"),
        ({"iou_thresholds": [0.5, 1.5]}, "iou_thresholds"),
        ({"rec_thresholds": []}, "rec_thresholds"),
        ({"area_ranges": {"all": (10, 1)}}, "area_ranges"),
        ({"area_ranges": []}, "area_ranges"),
    ],
)
def test_bad_parameters(kwargs, match):
    gt, dt = make_coco(0, n_images=3, n_categories=2)
    with pytest.raises(ValueError, match=match):
        evaluate(gt, dt, **kwargs)


def test_detections_from_arrays_equal_list_input(pycoco, same):
    from dlprimer.metrics.coco import COCOEvaluator, detections_from_arrays, load_ground_truth

    gt, dt = make_coco(9, n_images=10, n_categories=3)
    g = load_ground_truth(gt)
    d = detections_from_arrays(
        np.array([r["image_id"] for r in dt]),
        np.array([r["category_id"] for r in dt]),
        np.array([r["bbox"] for r in dt]),
        np.array([r["score"] for r in dt]),
        g,
    )
    res = COCOEvaluator(g, d).run()
    same(res.precision, pycoco(gt, dt).eval["precision"], "precision")
    with pytest.raises(ValueError, match=r"results\[1\]\.score must be finite"):
        detections_from_arrays(g.image_ids[[0, 0]], g.category_ids[[0, 0]], np.ones((2, 4)), [0.5, np.nan], g)
    with pytest.raises(ValueError, match="expected image_id"):
        detections_from_arrays(np.array([1]), np.array([1]), np.ones((2, 4)), [0.5], g)


def test_exact_boundaries_equal_pycocotools(pycoco, same):
    """Areas exactly 32² and 96² (in two ranges at once), IoU exactly 0.5 and 0.75, zero-size gt."""
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 32, 32], "area": 1024.0, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [100, 0, 96, 96], "area": 9216.0, "iscrowd": 0},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 200, 10, 10], "area": 100.0, "iscrowd": 0},
        {"id": 4, "image_id": 1, "category_id": 1, "bbox": [300, 300, 0, 0], "area": 0.0, "iscrowd": 0},
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 40, 40], "area": 1600.0, "iscrowd": 1},
    ]
    gt = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1, "name": "a"}], "annotations": anns}
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 32, 16], "score": 0.9},  # IoU 0.5 exactly
        {"image_id": 1, "category_id": 1, "bbox": [100, 0, 96, 72], "score": 0.9},  # IoU 0.75 exactly
        {"image_id": 1, "category_id": 1, "bbox": [0, 200, 10, 10], "score": 0.5},  # IoU 1
        {"image_id": 1, "category_id": 1, "bbox": [300, 300, 0, 0], "score": 0.5},  # zero-size
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 32, 32], "score": 0.7},  # inside the crowd
        {"image_id": 2, "category_id": 1, "bbox": [8, 8, 32, 32], "score": 0.7},  # inside the crowd
    ]
    ev = pycoco(gt, dt, iouThrs=np.array([0.5, 0.75, 0.9, 1.0]))
    ours = evaluate(gt, dt, iou_thresholds=[0.5, 0.75, 0.9, 1.0])
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.stats, ev.stats, "stats")


_box = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 3), st.integers(0, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gts=st.lists(st.tuples(st.integers(1, 2), st.integers(1, 2), _box, st.booleans()), max_size=8),
    dts=st.lists(st.tuples(st.integers(1, 2), st.integers(1, 2), _box, st.sampled_from([0.1, 0.5, 0.9])), max_size=12),
)
def test_tiny_grid_scenes_equal_pycocotools(gts, dts, pycoco):
    """Integer boxes on a 4×4 grid: many exactly equal IoUs (ties between ground truths), equal scores,
    crowds, zero-size boxes. Everything must still equal pycocotools."""
    anns = [
        {"id": i + 1, "image_id": im, "category_id": c, "bbox": list(b), "area": float(b[2] * b[3]), "iscrowd": int(cr)}
        for i, (im, c, b, cr) in enumerate(gts)
    ]
    gt = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1}, {"id": 2}], "annotations": anns}
    dt = [{"image_id": im, "category_id": c, "bbox": list(b), "score": s} for im, c, b, s in dts]
    ours = evaluate(gt, dt, area_ranges={"all": (0, 1e10), "small": (0, 4), "medium": (4, 9), "large": (9, 1e10)})
    if not dt:  # pycocotools cannot load an empty result list
        assert np.all((ours.precision == 0) | (ours.precision == -1))
        return
    rng = [[0, 1e10], [0, 4], [4, 9], [9, 1e10]]
    ev = pycoco(gt, dt, areaRng=rng)  # a stateless function: safe to share across examples
    np.testing.assert_array_equal(ours.precision, ev.eval["precision"])
    np.testing.assert_array_equal(ours.recall, ev.eval["recall"])
    np.testing.assert_array_equal(ours.scores, ev.eval["scores"])


def test_explain_equals_pycocotools_eval_imgs(pycoco):
    gt, dt = make_coco(12, n_images=10, n_categories=3, dt_per_image=30)
    ev = pycoco(gt, dt, maxDets=[1, 2, 5])  # a cap of 5 per image and category: some are dropped
    ours = COCOEvaluator(gt, dt, max_dets=(1, 2, 5))
    for t_i, iou in ((0, 0.5), (5, 0.75)):
        for a_i, area in enumerate(("all", "small", "medium", "large")):
            ex = ours.explain(iou=iou, area=area)
            want = np.full(len(dt), "over_max_det", dtype=object)
            want_gt = np.full(len(dt), -1)
            for e in ev.evalImgs:
                if e is None or e["aRng"] != ev.params.areaRng[a_i]:
                    continue
                for j, did in enumerate(e["dtIds"]):
                    m, ig = e["dtMatches"][t_i, j], e["dtIgnore"][t_i, j]
                    want[did - 1] = "ignored" if ig else ("tp" if m else "fp")
                    want_gt[did - 1] = int(m) if m else -1
            np.testing.assert_array_equal(ex["status"], want.astype(str), err_msg=f"{iou} {area}")
            np.testing.assert_array_equal(ex["matched_gt_id"], want_gt)
    with pytest.raises(ValueError, match="area must be one of"):
        ours.explain(area="huge")
    with pytest.raises(ValueError, match="iou must be one of"):
        ours.explain(iou=0.52)


def test_pairs_built_in_chunks_give_the_same_result(monkeypatch, pycoco, same):
    import dlprimer.metrics.coco._match as match_module

    monkeypatch.setattr(match_module, "_PAIR_CHUNK", 5)  # many small chunks
    gt, dt = make_coco(13, n_images=12, n_categories=3, dt_per_image=40)
    same(evaluate(gt, dt).precision, pycoco(gt, dt).eval["precision"], "precision")
