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


def test_options_equal_pycocotools_params(tmp_path, capsys):
    """--max-dets, --iou-thrs (list and start:stop:step) and --no-cats as pycocotools' params."""
    gt, dt, g, d = _files(tmp_path, seed=2)
    js = tmp_path / "o.json"
    assert main(["coco-eval", g, d, "--max-dets", "1,5,100", "--iou-thrs", "0.5:0.95:0.05", "--no-cats",
                 "--json", str(js)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    ev = run_pycocotools(gt, dt, maxDets=[1, 5, 100], useCats=0)
    assert out.splitlines()[:12] == ev.printed.strip("\n").splitlines()
    np.testing.assert_allclose(json.loads(js.read_text())["stats_list"], ev.stats, rtol=0, atol=1e-12)
    assert main(["coco-eval", g, d, "--iou-thrs", "0.3,0.5,0.75"]) == 0
    out = capsys.readouterr().out
    ev = run_pycocotools(gt, dt, iouThrs=np.array([0.3, 0.5, 0.75]))
    assert out.strip("\n").splitlines() == ev.printed.strip("\n").splitlines()


def test_keypoints(tmp_path, capsys):
    from dlprimer.metrics.coco.synthetic import make_coco_keypoints

    gt, dt = make_coco_keypoints(1, n_images=8)
    (tmp_path / "kg.json").write_text(json.dumps(gt))
    (tmp_path / "kd.json").write_text(json.dumps(dt))
    assert main(["coco-eval", str(tmp_path / "kg.json"), str(tmp_path / "kd.json"), "--iou-type", "keypoints"]) == 0
    ev = run_pycocotools(gt, dt, "keypoints")
    assert capsys.readouterr().out.strip("\n").splitlines() == ev.printed.strip("\n").splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-dets", "1,x"], "--max-dets must be comma-separated positive integers"),
        (["--max-dets", "0,10"], "--max-dets must be comma-separated positive integers"),
        (["--iou-thrs", "0.5:0.4:0.05"], "--iou-thrs must be numbers in [0, 1]"),
        (["--iou-thrs", "0.5,1.5"], "--iou-thrs must be numbers in [0, 1]"),
        (["--iou-thrs", "0.5:0.95"], "--iou-thrs must be numbers in [0, 1]"),
        (["--iou-thrs", "0.5:0.95:0.0000001"], "--iou-thrs must be numbers in [0, 1]"),
    ],
)
def test_bad_options_one_line_nothing_written(tmp_path, capsys, args, message):
    _, _, g, d = _files(tmp_path)
    js = tmp_path / "out.json"
    rc = main(["coco-eval", g, d, *args, "--json", str(js)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not js.exists()


def test_dev_zero_is_one_line(tmp_path, capsys):
    _, _, _, d = _files(tmp_path)
    rc = main(["coco-eval", "/dev/zero", d])
    err = capsys.readouterr().err
    assert rc == 2 and "'/dev/zero' is not a regular file" in err and len(err.strip().splitlines()) == 1
