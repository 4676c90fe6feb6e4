"""Regression tests from the review of the metrics area (each against pycocotools or a hand-worked value)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dlprimer.metrics.classification import accuracy
from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.pr_curve import best_f1_threshold


def _scene(seed: int) -> tuple[dict, list]:
    """Small scene with non-contiguous category ids, large image ids, crowd boxes and tied scores."""
    rng = np.random.default_rng(seed)
    cats = [1, 5, 90]
    img_ids = [10**11 + 7 * i for i in range(6)]
    anns, dts = [], []
    for iid in img_ids:
        for _ in range(int(rng.integers(0, 5))):
            x, y, w, h = rng.uniform(0, 200, 2).tolist() + rng.uniform(3, 120, 2).tolist()
            c = int(rng.choice(cats))
            anns.append(
                {
                    "id": 3 * len(anns) + 2,
                    "image_id": iid,
                    "category_id": c,
                    "bbox": [x, y, w, h],
                    "area": w * h * float(rng.choice([1.0, 0.7])),
                    "iscrowd": int(rng.random() < 0.15),
                }
            )
            for _ in range(int(rng.integers(0, 4))):
                jit = rng.normal(0, 0.1, 4) * [w, h, w, h]
                box = [x + jit[0], y + jit[1], abs(w + jit[2]), abs(h + jit[3])]
                dts.append({"image_id": iid, "category_id": c, "bbox": box, "score": float(rng.integers(1, 5) / 4)})
        dts.append({"image_id": iid, "category_id": int(rng.choice(cats)), "bbox": [5.0, 5, 30, 30], "score": 0.5})
    gt = {"images": [{"id": i} for i in img_ids], "categories": [{"id": c} for c in cats], "annotations": anns}
    return gt, dts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integral_float_ids_are_accepted_as_pycocotools(seed, pycoco, same):
    """JSON writers often emit ids as ``1.0``; pycocotools evaluates them (1.0 == 1 as a key)."""
    gt, dt = _scene(seed)
    gt_f, dt_f = copy.deepcopy(gt), copy.deepcopy(dt)
    for a in gt_f["annotations"]:
        a["id"], a["category_id"] = float(a["id"]), float(a["category_id"])
    for d in dt_f:
        d["image_id"], d["category_id"] = float(d["image_id"]), float(d["category_id"])
    ev = pycoco(gt_f, dt_f)
    ours = evaluate(gt_f, dt_f)
    same(ours.stats, ev.stats, "stats")
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")


def test_non_integral_or_bool_ids_raise():
    gt, dt = _scene(0)
    bad = copy.deepcopy(dt)
    bad[1]["category_id"] = 5.5
    with pytest.raises(TypeError, match=r"results\[1\]\.category_id must be an integer .* got 5\.5"):
        evaluate(gt, bad)
    bad_gt = copy.deepcopy(gt)
    bad_gt["images"][2]["id"] = True
    with pytest.raises(TypeError, match=r"images\[2\]\.id must be an integer .* got True"):
        evaluate(bad_gt, dt)


def test_non_numeric_iscrowd_raises():
    gt, dt = _scene(0)
    gt["annotations"][1]["iscrowd"] = "no"  # bool("no") would silently make it a crowd region
    with pytest.raises(ValueError, match=r"annotations\[1\]\.iscrowd must be 0 or 1, got 'no'"):
        evaluate(gt, dt)


def test_non_integer_max_dets_raise():
    gt, dt = _scene(0)
    with pytest.raises(TypeError, match=r"max_dets must be a sequence of positive integers, got \(1\.5, 10\)"):
        evaluate(gt, dt, max_dets=(1.5, 10))


def test_empty_categories_give_minus_one():
    """No categories, no detections: nothing to evaluate, -1 everywhere (pycocotools' "absent" value)."""
    res = evaluate({"images": [{"id": 1}], "categories": [], "annotations": []}, [])
    assert res.stats.shape == (12,)
    assert res.stats.tolist() == [-1.0] * 12
    assert res.precision.shape == (10, 101, 0, 4, 3)


def test_to_dict_names_each_stat(pycoco):
    """``to_dict()['stats']`` once collapsed the 12 numbers into 2 keys; each must map to its own value."""
    gt, dt = _scene(3)
    ev = pycoco(gt, dt)
    stats = evaluate(gt, dt).to_dict()["stats"]
    names = ["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR@1", "AR@10", "AR@100"]
    names += ["AR_small@100", "AR_medium@100", "AR_large@100"]
    assert list(stats) == names
    assert list(stats.values()) == ev.stats.tolist()


def test_to_dict_names_with_custom_caps(pycoco):
    gt, dt = _scene(4)
    ev = pycoco(gt, dt, maxDets=[1, 5, 20, 300])
    stats = evaluate(gt, dt, max_dets=(1, 5, 20, 300), area_ranges={"all": (0, 1e10), "tiny": (0, 100)})
    d = stats.to_dict()["stats"]
    assert list(d) == ["AP", "AP50", "AP75", "AR@1", "AR@5", "AR@20", "AR@300"]
    r = ev.eval["recall"]  # [T, K, A, M]
    for m, cap in enumerate((1, 5, 20, 300)):
        v = r[:, :, 0, m]
        assert d[f"AR@{cap}"] == float(np.mean(v[v > -1]))


def test_accuracy_of_empty_input_is_zero_as_documented():
    assert accuracy([], []) == 0.0
    with pytest.raises(ValueError, match="same length"):
        accuracy([1, 2], [1])


def test_best_f1_threshold_exact_tie_takes_highest_threshold():
    """Hand-worked: at threshold 0.7 five predictions hold 3 of 4 positives, F1 = 6/9; at 0.1 all eight
    hold 4, F1 = 8/12: equal, so the higher threshold 0.7 wins (float rounding once picked 0.1)."""
    scores = [1.0, 0.7, 0.4, 0.1, 0.5, 0.7, 0.7, 0.7]
    labels = [0, 1, 0, 1, 0, 1, 0, 1]
    thr, f1, p, r = best_f1_threshold(scores, labels)
    assert thr == 0.7
    assert f1 == pytest.approx(2 / 3, abs=1e-15)
    assert p == pytest.approx(3 / 5, abs=1e-15)
    assert r == pytest.approx(3 / 4, abs=1e-15)


def test_huge_max_det_cap_equals_pycocotools(pycoco, same):
    """A cap far above any image's detections ("no cap") once looped and allocated per possible rank."""
    gt, dt = _scene(5)
    ev = pycoco(gt, dt, maxDets=[1, 10, 10**10])
    ours = evaluate(gt, dt, max_dets=(1, 10, 10**10))
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.scores, ev.eval["scores"], "scores")


def test_detections_from_float_id_arrays(pycoco, same):
    """Class ids from a float tensor (1.0, 5.0, ...) are ids; a fractional id is an error."""
    from dlprimer.metrics.coco import COCOEvaluator, detections_from_arrays, load_ground_truth

    gt, dt = _scene(6)
    g = load_ground_truth(gt)
    img = np.array([r["image_id"] for r in dt], dtype=np.float64)
    cat = np.array([r["category_id"] for r in dt], dtype=np.float64)
    box, score = np.array([r["bbox"] for r in dt]), np.array([r["score"] for r in dt])
    res = COCOEvaluator(g, detections_from_arrays(img, cat, box, score, g)).run()
    same(res.precision, pycoco(gt, dt).eval["precision"], "precision")
    cat[0] = 1.5
    with pytest.raises(TypeError, match="category_id must hold integer"):
        detections_from_arrays(img, cat, box, score, g)


def test_id_beyond_int64_names_the_record():
    gt, dt = _scene(0)
    gt["images"][3]["id"] = 2**64 + 1
    with pytest.raises(ValueError, match=r"images\[3\]\.id=18446744073709551617 is outside the 64-bit"):
        evaluate(gt, dt)


def test_confusion_matrix_empty_input_and_num_classes_type():
    from dlprimer.metrics.classification import confusion_matrix

    assert confusion_matrix([], [], 3).tolist() == [[0, 0, 0]] * 3  # hand value: nothing counted
    with pytest.raises(ValueError, match="num_classes cannot be inferred from empty"):
        confusion_matrix([], [])
    with pytest.raises(TypeError, match="num_classes must be an integer, got float 3.5"):
        confusion_matrix([0, 1], [1, 2], 3.5)


def test_segm_with_empty_detections_gives_zero_where_gt():
    """An empty results list crashed the segm loader. pycocotools crashes on [] too; its numbers with one
    detection that overlaps nothing (a lone false positive: precision and recall 0) are the oracle."""
    from pycocotools import mask as mask_utils

    from oracles import run_pycocotools

    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 8], "area": 80, "iscrowd": 0,
         "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [5, 5, 40, 40], "area": 1600, "iscrowd": 0,
         "segmentation": [[5, 5, 45, 5, 45, 45, 5, 45]]},
    ]  # fmt: skip
    gt = {
        "images": [{"id": 1, "height": 50, "width": 50}, {"id": 2, "height": 50, "width": 50}],
        "categories": [{"id": 1}, {"id": 2}],
        "annotations": anns,
    }
    rle = mask_utils.merge(mask_utils.frPyObjects([[40, 40, 48, 40, 48, 48, 40, 48]], 50, 50))
    lone = [{"image_id": 1, "category_id": 1, "segmentation": rle, "score": 0.5}]
    ev = run_pycocotools(gt, lone, "segm")
    ours = evaluate(gt, [], iou_type="segm")
    assert ours.stats.tolist() == ev.stats.tolist()


def test_per_class_prf_checks_zero_division():
    from dlprimer.metrics.classification import per_class_prf

    with pytest.raises(ValueError, match=r"zero_division must be 0.0, 1.0 or nan, got 0.5"):
        per_class_prf([0, 1], [1, 1], zero_division=0.5)


def test_numpy_float_ids_and_mixed_id_types(pycoco, same):
    gt, dt = _scene(7)
    gt_np = copy.deepcopy(gt)
    for a in gt_np["annotations"]:
        a["category_id"] = np.float64(a["category_id"])
    same(evaluate(gt_np, dt).stats, pycoco(gt_np, dt).stats, "stats")
    mixed = copy.deepcopy(gt)
    mixed["images"][0]["id"] = "a"  # pycocotools fails sorting these; we say why
    with pytest.raises(TypeError, match=r"images id values mix strings and other types"):
        evaluate(mixed, dt)
