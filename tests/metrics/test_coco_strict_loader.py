"""Strict, named input rules of the COCO loader (issue #14 item 6) and safe JSON reading.

Each bad input raises one ``ValueError``/``TypeError`` naming the file (or ``<gt dict>``), the record and the
field; the accepted forms are the ones pycocotools evaluates.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from dlprimer.data.coco_json import CocoDataset, load_coco_json, load_detections, read_json
from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.coco.synthetic import make_coco


@pytest.fixture
def data():
    return make_coco(2, n_images=6, n_categories=3)


def test_bbox_string_is_refused_naming_record_and_field(data):
    gt, dt = data
    gt = copy.deepcopy(gt)
    gt["annotations"][3]["bbox"] = "1234"  # used to read as [1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"<gt dict>: annotations\[3\]\.bbox must be a list of 4 numbers, got '1234'"):
        evaluate(gt, dt)
    gt2 = copy.deepcopy(data[0])
    gt2["annotations"][0]["bbox"] = ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match=r"annotations\[0\]\.bbox must be a list of 4 numbers"):
        evaluate(gt2, dt)
    dt2 = copy.deepcopy(dt)
    dt2[5]["bbox"] = [1, 2, True, 4]
    with pytest.raises(ValueError, match=r"results\[5\]\.bbox must be a list of 4 numbers"):
        evaluate(data[0], dt2)


@pytest.mark.parametrize("bad", [[1], {"a": 1}, True, None])
@pytest.mark.parametrize("where", ["images", "annotations.image_id", "results.image_id"])
def test_list_dict_bool_ids_are_refused_naming_record_and_field(data, bad, where):
    gt, dt = copy.deepcopy(data[0]), copy.deepcopy(data[1])
    if where == "images":
        gt["images"][1]["id"] = bad
        pattern = r"<gt dict>: images\[1\]\.id must be an integer \(or string\) id"
    elif where == "annotations.image_id":
        gt["annotations"][2]["image_id"] = bad
        pattern = r"<gt dict>: annotations\[2\]\.image_id must be an integer \(or string\) id"
    else:
        dt[4]["image_id"] = bad
        pattern = r"<detections list>: results\[4\]\.image_id must be an integer \(or string\) id"
    with pytest.raises(TypeError, match=pattern):
        evaluate(gt, dt)


def test_all_ids_lists_are_refused(data):
    """Every id a list of the same length (NumPy would read them as a 2-D integer array)."""
    gt = copy.deepcopy(data[0])
    for im in gt["images"]:
        im["id"] = [im["id"]]
    with pytest.raises(TypeError, match=r"images\[0\]\.id must be an integer \(or string\) id, got \["):
        load_coco_json(gt)


def test_dev_zero_and_folders_are_not_coco_files(tmp_path, data):
    with pytest.raises(ValueError, match=r"ground-truth file '/dev/zero' is not a regular file"):
        evaluate("/dev/zero", data[1])
    with pytest.raises(ValueError, match="is not a regular file"):
        load_coco_json(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"ground-truth file '.*missing\.json' does not exist"):
        load_coco_json(tmp_path / "missing.json")


def test_deep_nesting_is_one_named_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match=r"ground-truth file '.*deep\.json' nests JSON too deeply"):
        load_coco_json(path)


def test_non_utf8_names_the_file(tmp_path):
    path = tmp_path / "latin1.json"
    raw = b'{"images": [], "categories": [{"id": 1, "name": "caf\xe9"}], "annotations": []}'
    path.write_bytes(raw)
    at = raw.index(b"\xe9")  # the first byte that is not UTF-8
    with pytest.raises(ValueError, match=rf"detections file '.*latin1\.json' is not UTF-8 text \(byte {at}:"):
        read_json(path, "detections")


def test_load_coco_json_returns_the_dict_and_arrays(tmp_path, data):
    gt, _ = data
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    ds = load_coco_json(path)
    assert isinstance(ds, CocoDataset)
    assert ds.data == gt and ds.source == f"ground-truth file {str(path)!r}"
    assert ds.gt.image_ids.tolist() == sorted(im["id"] for im in gt["images"])
    np.testing.assert_array_equal(ds.gt.bbox, np.array([a["bbox"] for a in gt["annotations"]], dtype=np.float64))
    assert load_coco_json(gt).source == "<gt dict>"


def test_detections_accept_tuples_and_integer_boxes(data):
    gt, dt = data
    ds = load_coco_json(gt)
    as_tuples = [dict(d, bbox=tuple(d["bbox"])) for d in dt]
    np.testing.assert_array_equal(load_detections(as_tuples, ds.gt).bbox, load_detections(dt, ds.gt).bbox)
