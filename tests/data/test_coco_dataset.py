"""``CocoDetectionDataset`` reads its annotation file through the one COCO loader (``dlprimer.data.coco_json``,
which ``dlprimer.metrics.coco`` evaluates with): the same errors, naming the file, the record and the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlprimer.data.coco_dataset import CocoDetectionDataset
from dlprimer.metrics.coco import evaluate


def _folder(root: Path, coco: dict) -> None:
    (root / "images" / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    for im in coco["images"]:
        if isinstance(im.get("file_name"), str):
            Image.fromarray(np.zeros((im["height"], im["width"]), np.uint8)).save(root / "images" / "train" /
                                                                                im["file_name"])
    (root / "annotations" / "instances_train.json").write_text(json.dumps(coco))


def _coco() -> dict:
    return {"images": [{"id": 5, "file_name": "a.png", "height": 20, "width": 30},
                       {"id": 9, "file_name": "b.png", "height": 10, "width": 10}],
            "annotations": [{"id": 1, "image_id": 5, "category_id": 4, "bbox": [2, 3, 10, 5], "area": 50,
                             "iscrowd": 0}],
            "categories": [{"id": 4, "name": "four"}]}


def test_reads_boxes_in_xyxy_and_keeps_ids(tmp_path):
    _folder(tmp_path, _coco())
    ds = CocoDetectionDataset(tmp_path, "train")
    assert len(ds) == 2 and ds.category_ids == (4,) and ds.in_channels == 1
    item = ds[0]
    assert item["boxes"].tolist() == [[2.0, 3.0, 12.0, 8.0]] and item["labels"].tolist() == [0]
    assert int(item["image_id"]) == 5 and ds[1]["boxes"].shape == (0, 4)


@pytest.mark.parametrize("break_it, needles", [
    (lambda c: c["images"].append(dict(c["images"][0])), ("images", "id")),  # duplicate image id
    (lambda c: c["annotations"][0].update(bbox=[1, 2, 3]), ("annotations[0]", "bbox")),
    (lambda c: c["annotations"][0].update(category_id=77), ("annotations[0]", "category_id")),
    (lambda c: c["images"][1].update(file_name=3), ("images[1]", "file_name")),
])
def test_bad_annotations_fail_as_the_evaluator_s_loader_does(tmp_path, break_it, needles):
    coco = _coco()
    break_it(coco)
    _folder(tmp_path, coco)
    path = tmp_path / "annotations" / "instances_train.json"
    with pytest.raises((ValueError, TypeError)) as ours:
        CocoDetectionDataset(tmp_path, "train")
    message = str(ours.value)
    assert "instances_train.json" in message and all(n in message for n in needles), message
    if "file_name" not in needles:  # the evaluator refuses the same file with the same message
        with pytest.raises((ValueError, TypeError)) as theirs:
            evaluate(str(path), [])
        assert str(theirs.value).split(": ", 1)[-1] == message.split(": ", 1)[-1]


def test_an_image_listed_but_missing_is_named(tmp_path):
    _folder(tmp_path, _coco())
    (tmp_path / "images" / "train" / "b.png").unlink()
    with pytest.raises(FileNotFoundError, match="b.png.*missing on disk"):
        CocoDetectionDataset(tmp_path, "train")
