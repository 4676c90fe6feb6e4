"""``dlprimer coco-eval``: printed summary equals pycocotools' printout; JSON, plot, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlprimer.cli import main
from dlprimer.metrics.coco.synthetic import make_coco
from oracles import run_pycocotools


def _files(tmp_path, seed=1):
    gt, dt = make_coco(seed, n_images=12, n_categories=4)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    return gt, dt, str(tmp_path / "gt.json"), str(tmp_path / "dt.json")


def _pycocotools(gt, dt, iou_type="bbox"):
    ev = run_pycocotools(gt, dt, iou_type)
    return ev, ev.printed


def test_summary_equals_pycocotools(tmp_path, capsys):
    gt, dt, g, d = _files(tmp_path)
    rc = main(["coco-eval", g, d])
    out = capsys.readouterr().out
    assert rc == 0
    _, printed = _pycocotools(gt, dt)
    assert out.strip("\n").splitlines() == printed.strip("\n").splitlines()


def test_per_class_json_and_plot(tmp_path, capsys):
    gt, dt, g, d = _files(tmp_path, seed=2)
    js, png = tmp_path / "r.json", tmp_path / "r.png"
    rc = main(["coco-eval", g, d, "--per-class", "--json", str(js), "--plot", str(png)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "AP50" in out and "class_" in out
    ev, _ = _pycocotools(gt, dt)
    data = json.loads(js.read_text())
    np.testing.assert_allclose(data["stats_list"], ev.stats, rtol=0, atol=1e-12)
    assert len(data["per_class"]) == 4
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_refuses_to_overwrite(tmp_path, capsys):
    _, _, g, d = _files(tmp_path)
    js = tmp_path / "r.json"
    js.write_text("keep me")
    rc = main(["coco-eval", g, d, "--json", str(js)])
    err = capsys.readouterr().err
    assert rc == 2 and "already exists" in err and "--overwrite" in err
    assert js.read_text() == "keep me"
    assert main(["coco-eval", g, d, "--json", str(js), "--overwrite"]) == 0
    assert "stats" in json.loads(js.read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda gt, dt: dt.append({"image_id": 12345, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}),
            "image_id=12345 is not in the ground truth images",
        ),
        (lambda gt, dt: dt[0].update(score=float("nan")), "score must be finite"),
        (lambda gt, dt: gt["annotations"][0].pop("bbox"), "missing the required key 'bbox'"),
    ],
)
def test_bad_input_one_line_error(tmp_path, capsys, mutate, message):
    gt, dt = make_coco(1, n_images=5, n_categories=2)
    mutate(gt, dt)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    rc = main(["coco-eval", str(tmp_path / "gt.json"), str(tmp_path / "dt.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("dlprimer: error: ") and message in err and len(err.strip().splitlines()) == 1
    assert ".json" in err  # names the file


def test_malformed_json(tmp_path, capsys):
    (tmp_path / "gt.json").write_text("{")
    (tmp_path / "dt.json").write_text("[]")
    rc = main(["coco-eval", str(tmp_path / "gt.json"), str(tmp_path / "dt.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "gt.json" in err and "not valid JSON" in err


def test_segm_and_bad_iou_type(tmp_path, capsys):
    _, _, g, d = _files(tmp_path)
    rc = main(["coco-eval", g, d, "--iou-type", "polygon"])
    err = capsys.readouterr().err
    assert rc == 2 and "iou_type must be one of ['bbox', 'segm'" in err and "got 'polygon'" in err
    gt = {
        "images": [{"id": 1, "height": 20, "width": 20}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 12, 2, 12, 12, 2, 12]],
             "bbox": [2, 2, 10, 10], "area": 100.0, "iscrowd": 0}
        ],
    }  # fmt: skip
    dt = [{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [2, 2, 10, 10]}]  # box results, box masks
    (tmp_path / "sg.json").write_text(json.dumps(gt))
    (tmp_path / "sd.json").write_text(json.dumps(dt))
    rc = main(["coco-eval", str(tmp_path / "sg.json"), str(tmp_path / "sd.json"), "--iou-type", "segm"])
    out = capsys.readouterr().out
    ev, printed = _pycocotools(gt, dt, iou_type="segm")
    assert rc == 0
    assert out.strip("\n").splitlines() == printed.strip("\n").splitlines()
