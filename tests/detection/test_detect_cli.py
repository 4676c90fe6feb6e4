"""``dlprimer detect``: evaluate equals pycocotools on the exported files, a user's COCO folder round-trips its
ids, kill -9 + --resume equals an uninterrupted run, and bad input is one line and exit 2."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlprimer.cli import main

TINY = ["--epochs", "1", "--n-train", "8", "--n-val", "4", "--n-test", "6", "--batch-size", "4", "--image-size", "64",
        "--eval-every", "1"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _pycocotools_stats(gt_path: Path, det_path: Path) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dets = json.loads(det_path.read_text())
        ev = COCOeval(gt, gt.loadRes(dets) if dets else COCO(), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


@pytest.fixture(scope="module")
def yolo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["detect", "train", "--model", "yolo", *TINY, "--out", str(out), "--name", "y"]) == 0
    return out / "y"


def test_train_writes_run_and_evaluate_equals_pycocotools(yolo_run, tmp_path, capsys):
    for f in ("config.json", "metrics.jsonl", "checkpoint.pt", "summary.json"):
        assert (yolo_run / f).is_file()
    capsys.readouterr()
    assert main(["detect", "evaluate", str(yolo_run), "--score-threshold", "0.001"]) == 0
    printed = capsys.readouterr().out
    folder = yolo_run / "eval" / "test"
    for f in ("detections.json", "stats.json", "curves.png", "confusion.png"):
        assert (folder / f).is_file()
    assert main(["data", "scenes", "export", "--out", str(tmp_path / "exp"), "--n-train", "8", "--n-val", "4",
                 "--n-test", "6"]) == 0
    gt_path = tmp_path / "exp" / "annotations" / "instances_test.json"
    ours = json.loads((folder / "stats.json").read_text())["stats_list"]
    theirs = _pycocotools_stats(gt_path, folder / "detections.json")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12, err_msg=f"ours {ours} vs pycocotools {theirs}")
    assert f"{theirs[1]:.3f}" in printed
    dets = json.loads((folder / "detections.json").read_text())
    assert dets and {d["category_id"] for d in dets} <= set(range(1, 11))
    assert {d["image_id"] for d in dets} <= set(range(1, 7))


def test_predict_and_compare(yolo_run, tmp_path):
    from dlprimer.data.scenes import SceneConfig, export_scenes

    export_scenes(tmp_path / "exp", SceneConfig(n_train=1, n_val=1, n_test=2))
    images = [str(tmp_path / "exp" / "images" / "test" / f"00000{i}.png") for i in range(2)]
    assert main(["detect", "predict", str(yolo_run), *images, "--out", str(tmp_path / "pred"),
                 "--score-threshold", "0.0"]) == 0
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["000000.png", "000001.png"]
    assert main(["detect", "compare", str(yolo_run), "--out", str(tmp_path / "cmp")]) == 0
    rows = json.loads((tmp_path / "cmp" / "compare.json").read_text())["rows"]
    assert rows[0]["model"] == "yolo" and rows[0]["params"] > rows[0]["head_params"] > 0
    summary = json.loads((yolo_run / "summary.json").read_text())
    assert rows[0]["wall_time_s"] == summary["wall_time_s"] > 0
    assert "| yolo |" in (tmp_path / "cmp" / "compare.md").read_text()


def _write_coco_folder(root: Path) -> None:
    """A user's COCO folder: RGB images of other sizes, a crowd box, an image without boxes, ids 3, 7, 42."""
    from PIL import Image

    rng = np.random.default_rng(0)
    cats = [{"id": 42, "name": "star"}, {"id": 3, "name": "bar"}, {"id": 7, "name": "dot"}]
    sizes = {"train": [(50, 70), (90, 60), (64, 64), (40, 80)], "val": [(70, 50), (60, 90)]}
    for split, shapes in sizes.items():
        (root / "images" / split).mkdir(parents=True)
        images, anns = [], []
        for k, (h, w) in enumerate(shapes):
            img_id = 100 + 7 * k
            arr = (rng.uniform(0, 40, (h, w, 3))).astype(np.uint8)
            boxes = [] if k == 1 else [(5, 6, 15, 12, 3), (w // 2, h // 2, 12, 14, 42), (2, h - 12, 10, 10, 7)]
            for x, y, bw, bh, cat in boxes:
                arr[y : y + bh, x : x + bw] = (200, 80 + cat, 30)
                anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": cat, "bbox": [x, y, bw, bh],
                             "area": bw * bh, "iscrowd": 0})
            if k == 0:
                anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": 7, "bbox": [30, 2, 12, 8],
                             "area": 96, "iscrowd": 1})
            Image.fromarray(arr, "RGB").save(root / "images" / split / f"im{k}.png")
            images.append({"id": img_id, "file_name": f"im{k}.png", "height": h, "width": w})
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"instances_{split}.json").write_text(
            json.dumps({"images": images, "annotations": anns, "categories": cats}))


def test_user_coco_folder_trains_and_keeps_ids(tmp_path):
    data = tmp_path / "user"
    _write_coco_folder(data)
    assert main(["detect", "train", "--model", "fcos", "--data", str(data), "--epochs", "1", "--batch-size", "2",
                 "--image-size", "64", "--out", str(tmp_path / "runs"), "--name", "u"]) == 0
    run = tmp_path / "runs" / "u"
    assert main(["detect", "evaluate", str(run), "--split", "val"]) == 0
    dets = json.loads((run / "eval" / "val" / "detections.json").read_text())
    assert dets, "the untrained model should still emit low-score detections"
    assert {d["category_id"] for d in dets} <= {3, 7, 42} and {d["image_id"] for d in dets} <= {100, 107}
    sizes = {100: (50, 70), 107: (90, 60)}
    val_sizes = {100: (70, 50), 107: (60, 90)}
    for d in dets:
        x, y, w, h = d["bbox"]
        hh, ww = val_sizes[d["image_id"]]
        assert 0 <= x and 0 <= y and x + w <= ww + 1e-6 and y + h <= hh + 1e-6
    assert sizes  # (train sizes differ from val sizes: letterbox per image)
    ours = json.loads((run / "eval" / "val" / "stats.json").read_text())["stats_list"]
    theirs = _pycocotools_stats(data / "annotations" / "instances_val.json", run / "eval" / "val" / "detections.json")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    from dlprimer.train.detection import DetectConfig
    from dlprimer.train.detection.data import load_detection_data

    loaded = load_detection_data(DetectConfig(data=str(data), image_size=64))
    assert loaded.in_channels == 3 and loaded.category_ids == (3, 7, 42)
    item = loaded.splits["train"][0]  # 50×70 image letterboxed into 64: r = 64/70
    assert item["image"].shape == (3, 64, 64)
    r = 64 / 70
    # crowd box left out of the training targets; labels contiguous in id order (3 → 0, 7 → 1, 42 → 2)
    assert item["labels"].tolist() == [0, 2, 1]
    assert item["boxes"][0].tolist() == pytest.approx([5 * r, 6 * 46 / 50, 20 * r, 18 * 46 / 50], rel=1e-5)
    assert len(loaded.splits["train"][1]["boxes"]) == 0


KILL_SCRIPT = """
import os, signal, sys
from dlprimer.train.callbacks import Callback
from dlprimer.train.detection import DetectConfig, fit_detection
cfg = DetectConfig(model="fcos", epochs=3, n_train=8, n_val=4, n_test=4, batch_size=4, image_size=64,
                   out=sys.argv[1], name="killed", eval_every=1)
class KillInEpoch2(Callback):
    epoch = 1
    def on_epoch(self, row):
        self.epoch = row["epoch"] + 1
    def on_batch(self, index, loss):
        if self.epoch == 2 and index == 1:
            os.kill(os.getpid(), signal.SIGKILL)
fit_detection(cfg, callbacks=[KillInEpoch2()])
"""


def test_kill_9_then_resume_equals_uninterrupted(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    killed = tmp_path / "killed"
    rows = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1] and not (killed / "summary.json").exists()
    assert main(["detect", "train", "--resume", str(killed)]) == 0
    from dlprimer.train.detection import DetectConfig, fit_detection

    full = fit_detection(DetectConfig(model="fcos", epochs=3, n_train=8, n_val=4, n_test=4, batch_size=4,
                                      image_size=64, out=str(tmp_path), name="full", eval_every=1))
    resumed = json.loads((killed / "summary.json").read_text())
    assert resumed["stats"] == full.summary["stats"]
    strip = lambda r: {k: v for k, v in r.items() if k != "time_s"}  # noqa: E731
    resumed_rows = [strip(json.loads(x)) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert resumed_rows == [strip(r) for r in full.history]


def _one_line_error(capsys, argv: list[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_bad_input_one_line_exit_2(tmp_path, capsys):
    data = tmp_path / "user"
    _write_coco_folder(data)
    out = ["--out", str(tmp_path / "runs"), "--epochs", "1"]
    _one_line_error(capsys, ["detect", "train", "--image-size", "100", *out], "--image-size", "32")
    _one_line_error(capsys, ["detect", "train", "--model", "ssd", *out], "model", "yolo")
    _one_line_error(capsys, ["detect", "train", "--augment", "mosaic,warp", *out], "--augment", "warp")
    _one_line_error(capsys, ["detect", "train", "--schedule", "sawtooth", *out], "--schedule", "sawtooth")
    _one_line_error(capsys, ["detect", "train", "--data", str(tmp_path / "nope"), *out], "--data", "nope")
    missing = tmp_path / "missing"
    _write_coco_folder(missing)
    (missing / "annotations" / "instances_val.json").unlink()
    _one_line_error(capsys, ["detect", "train", "--data", str(missing), *out], "instances_val.json")
    invalid = tmp_path / "invalid"
    _write_coco_folder(invalid)
    path = invalid / "annotations" / "instances_train.json"
    coco = json.loads(path.read_text())
    coco["annotations"][0]["bbox"] = [1, 2, 3]
    path.write_text(json.dumps(coco))
    _one_line_error(capsys, ["detect", "train", "--data", str(invalid), *out], "instances_train.json", "bbox")
    path.write_text("{not json")
    _one_line_error(capsys, ["detect", "train", "--data", str(invalid), *out], "instances_train.json", "JSON")
    gone = tmp_path / "gone"
    _write_coco_folder(gone)
    (gone / "images" / "train" / "im2.png").unlink()
    _one_line_error(capsys, ["detect", "train", "--data", str(gone), *out], "im2.png", "missing")
    _one_line_error(capsys, ["detect", "evaluate", str(tmp_path / "norun")], "norun")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
