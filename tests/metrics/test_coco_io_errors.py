"""Loading COCO files: each malformed input raises a clear error naming the file, record and field.

Every error test runs twice: through :func:`evaluate` and through the pycocotools-style drop-in
(``COCO(gt)``, ``loadRes(dt)``, ``COCOeval``): the rules hold through both APIs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from dlprimer.metrics.coco import evaluate, load_ground_truth


def _dropin_evaluate(gt, dt, iou_type="bbox"):
    from dlprimer.metrics.coco import COCO, COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        ev = COCOeval(coco, coco.loadRes(dt), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


_RESULT_TESTS = {"test_accepted_like_pycocotools", "test_ground_truth_arrays_keep_area_field"}


@pytest.fixture(autouse=True, params=["evaluate", "COCO/COCOeval"])
def api(request, monkeypatch):
    """Run each error test through ``evaluate`` and through the drop-in API (tests of results: evaluate only)."""
    if request.param == "COCO/COCOeval" and request.node.originalname not in _RESULT_TESTS:
        monkeypatch.setitem(globals(), "evaluate", _dropin_evaluate)
    return request.param


def _gt() -> dict:
    return {
        "images": [{"id": 1}, {"id": 2}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 2, "bbox": [5, 5, 20, 10], "area": 200, "iscrowd": 0},
        ],
    }


def _dt() -> list:
    return [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": 2, "category_id": 2, "bbox": [5, 5, 20, 11], "score": 0.8},
    ]


def _write(tmp_path, name, obj):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def test_malformed_json_names_the_file(tmp_path):
    bad = _write(tmp_path, "gt.json", '{"images": [')
    with pytest.raises(ValueError, match=r"ground-truth file .*gt\.json.* not valid JSON"):
        evaluate(bad, _dt())
    good = _write(tmp_path, "gt2.json", _gt())
    bad_dt = _write(tmp_path, "dt.json", "[{]")
    with pytest.raises(ValueError, match=r"detections file .*dt\.json.* not valid JSON"):
        evaluate(good, bad_dt)


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        evaluate(tmp_path / "nope.json", _dt())


@pytest.mark.parametrize("key", ["images", "annotations", "categories"])
def test_missing_top_level_key(key):
    gt = _gt()
    del gt[key]
    with pytest.raises(ValueError, match=f"missing the required key '{key}'"):
        evaluate(gt, _dt())


@pytest.mark.parametrize("key", ["id", "image_id", "category_id", "bbox", "area"])
def test_missing_annotation_key_names_record_and_field(key):
    gt = _gt()
    del gt["annotations"][1][key]
    with pytest.raises(ValueError, match=rf"<gt dict>: annotations\[1\] is missing the required key '{key}'"):
        evaluate(gt, _dt())


@pytest.mark.parametrize("key", ["image_id", "category_id", "bbox", "score"])
def test_missing_result_key_names_record_and_field(key, tmp_path):
    dt = _dt()
    del dt[1][key]
    path = _write(tmp_path, "dets.json", dt)
    with pytest.raises(ValueError, match=rf"dets\.json'?: results\[1\] is missing the required key '{key}'"):
        evaluate(_gt(), path)


def test_missing_image_and_category_id():
    gt = _gt()
    del gt["images"][0]["id"]
    with pytest.raises(ValueError, match=r"images\[0\] is missing the required key 'id'"):
        evaluate(gt, _dt())
    gt = _gt()
    del gt["categories"][1]["id"]
    with pytest.raises(ValueError, match=r"categories\[1\] is missing the required key 'id'"):
        evaluate(gt, _dt())


def test_detection_with_unknown_image_id():
    dt = _dt() + [{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.1}]
    with pytest.raises(ValueError, match=r"results\[2\]\.image_id=99 is not in the ground truth images"):
        evaluate(_gt(), dt)


def test_unknown_category_ids():
    dt = _dt()
    dt[0]["category_id"] = 7
    with pytest.raises(ValueError, match=r"results\[0\]\.category_id=7 is not in the ground truth categories"):
        evaluate(_gt(), dt)
    gt = _gt()
    gt["annotations"][1]["category_id"] = 5
    with pytest.raises(ValueError, match=r"annotations\[1\]\.category_id=5 is not in the ground truth categories"):
        evaluate(gt, _dt())
    gt = _gt()
    gt["annotations"][0]["image_id"] = 5
    with pytest.raises(ValueError, match=r"annotations\[0\]\.image_id=5 is not in the ground truth images"):
        evaluate(gt, _dt())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_score(bad):
    dt = _dt()
    dt[1]["score"] = bad
    with pytest.raises(ValueError, match=r"results\[1\]\.score must be finite"):
        evaluate(_gt(), dt)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_coordinates(bad):
    dt = _dt()
    dt[0]["bbox"] = [0, bad, 3, 3]
    with pytest.raises(ValueError, match=r"results\[0\]\.bbox must be finite"):
        evaluate(_gt(), dt)
    gt = _gt()
    gt["annotations"][1]["bbox"] = [bad, 0, 3, 3]
    with pytest.raises(ValueError, match=r"annotations\[1\]\.bbox must be finite"):
        evaluate(gt, _dt())
    gt = _gt()
    gt["annotations"][0]["area"] = bad
    with pytest.raises(ValueError, match=r"annotations\[0\]\.area must be finite"):
        evaluate(gt, _dt())


def test_negative_width_or_height():
    dt = _dt()
    dt[1]["bbox"] = [0, 0, -1, 3]
    with pytest.raises(ValueError, match=r"results\[1\]\.bbox has a negative width or height"):
        evaluate(_gt(), dt)
    gt = _gt()
    gt["annotations"][0]["bbox"] = [0, 0, 3, -2]
    with pytest.raises(ValueError, match=r"annotations\[0\]\.bbox has a negative width or height"):
        evaluate(gt, _dt())


@pytest.mark.parametrize("bbox", [[0, 0, 1], [0, 0, 1, 2, 3], "0 0 1 1", None, [0, 0, "a", 1]])
def test_malformed_bbox(bbox):
    dt = _dt()
    dt[0]["bbox"] = bbox
    with pytest.raises(ValueError, match=r"results\[0\]\.bbox must be a list of 4 numbers"):
        evaluate(_gt(), dt)


def test_duplicate_ids():
    gt = _gt()
    gt["annotations"][1]["id"] = 1
    with pytest.raises(ValueError, match=r"duplicate id 1 in annotations\[0\] and annotations\[1\]"):
        evaluate(gt, _dt())
    gt = _gt()
    gt["images"].append({"id": 2})
    with pytest.raises(ValueError, match=r"duplicate id 2 in images\[1\] and images\[2\]"):
        evaluate(gt, _dt())
    gt = _gt()
    gt["categories"].append({"id": 1, "name": "again"})
    with pytest.raises(ValueError, match=r"duplicate id 1 in categories\[0\] and categories\[2\]"):
        evaluate(gt, _dt())


def test_wrong_container_types(tmp_path):
    with pytest.raises(TypeError, match="must be a COCO dict"):
        evaluate([1, 2], _dt())
    with pytest.raises(TypeError, match="must be a list of result records"):
        evaluate(_gt(), {"image_id": 1})
    with pytest.raises(TypeError, match="pass its 'annotations' list"):
        evaluate(_gt(), _gt())
    gt = _gt()
    gt["annotations"][1] = "oops"
    with pytest.raises(TypeError, match=r"annotations\[1\] must be a JSON object"):
        evaluate(gt, _dt())
    gt = _gt()
    gt["images"][0]["id"] = 1.5
    with pytest.raises(TypeError, match=r"images\[0\]\.id must be an integer"):
        evaluate(gt, _dt())


def test_accepted_like_pycocotools(pycoco, same):
    """Zero-size boxes, images without annotations, categories without detections: same numbers."""
    gt = _gt()
    gt["images"].append({"id": 3})  # no annotations
    gt["categories"].append({"id": 3, "name": "bird"})
    gt["annotations"].append(
        {"id": 3, "image_id": 1, "category_id": 3, "bbox": [1, 1, 4, 4], "area": 16, "iscrowd": 0}
    )  # category 3: ground truth, no detections
    dt = _dt() + [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 0, 10], "score": 0.95},  # zero width
        {"image_id": 3, "category_id": 2, "bbox": [0, 0, 4, 4], "score": 0.5},
    ]
    ours = evaluate(gt, dt)
    ev = pycoco(gt, dt)
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.stats, ev.stats, "stats")


def test_ground_truth_arrays_keep_area_field():
    gt = _gt()
    gt["annotations"][0]["area"] = 37.5  # e.g. a mask area, not w*h
    g = load_ground_truth(copy.deepcopy(gt))
    assert g.area.dtype == np.float64
    assert g.area.tolist() == [37.5, 200.0]
    assert g.iscrowd.tolist() == [False, False]


@pytest.mark.parametrize("bad", ["0.5", None, True, [0.5]])
def test_score_must_be_a_number(bad):
    dt = _dt()
    dt[1]["score"] = bad
    with pytest.raises(ValueError, match=r"results\[1\]\.score must be a number"):
        evaluate(_gt(), dt)
