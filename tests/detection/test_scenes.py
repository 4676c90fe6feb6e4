"""Scenes: deterministic, disjoint source digits, tight boxes, pairwise IoU <= 0.3, COCO export loads in pycocotools."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import torchvision

from dlprimer.cli import main
from dlprimer.data.digits import resize_bilinear
from dlprimer.data.scenes import (
    INK_THRESHOLD,
    SceneConfig,
    SceneDataset,
    _source_digits,
    export_scenes,
    render_scene,
    source_indices,
)

SMALL = SceneConfig(n_train=6, n_val=3, n_test=4)


def test_deterministic_per_seed_split_index():
    a, b = render_scene("train", 5, SMALL), render_scene("train", 5, SMALL)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
    assert np.array_equal(a.labels, b.labels)
    c = render_scene("train", 5, replace(SMALL, seed=1))
    d = render_scene("val", 5, SMALL)
    assert not np.array_equal(a.image, c.image) and not np.array_equal(a.image, d.image)
    # order of generation does not matter
    ds = SceneDataset("train", SMALL)
    _ = ds[3]
    assert torch.equal(ds[5]["image"][0], torch.from_numpy(a.image))


def test_source_split_disjoint_stratified():
    _, labels = _source_digits()
    parts = [set(source_indices(0, s).tolist()) for s in ("train", "val", "test")]
    assert sum(map(len, parts)) == len(labels)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert abs(len(parts[2]) / len(labels) - 0.2) < 0.01 and abs(len(parts[1]) / len(labels) - 0.1) < 0.01
    for s, part in zip(("train", "val", "test"), parts, strict=True):
        for i in range(30):
            assert set(render_scene(s, i, SMALL).sources.tolist()) <= part


def test_boxes_tight_iou_sizes_counts():
    cfg = SceneConfig()
    images, _ = _source_digits()
    n_digits = []
    for i in range(30):
        s = render_scene("test", i, cfg)
        n = len(s.boxes)
        n_digits.append(n)
        assert s.image.shape == (128, 128) and s.image.dtype == np.uint8
        assert 1 <= n <= 6 and s.labels.shape == (n,) and s.boxes.dtype == np.float32
        if n > 1:
            iou = torchvision.ops.box_iou(torch.from_numpy(s.boxes).double(), torch.from_numpy(s.boxes).double())
            iou.fill_diagonal_(0)
            assert float(iou.max()) <= 0.3 + 1e-12
        for box, k in zip(s.boxes, s.sources, strict=True):
            x1, y1, x2, y2 = box
            assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 128
            # independent check of tightness: re-render the glyph at every size whose ink box fits exactly
            w, h = x2 - x1, y2 - y1
            assert max(w, h) <= 48 * 1.15 + 1
            ok = False
            for gh in range(12, 49):
                for gw in range(max(4, int(gh * 0.85) - 1), int(gh * 1.15) + 2):
                    ink = resize_bilinear(images[k][None], (gh, gw))[0] > INK_THRESHOLD
                    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
                    if rows.size and cols[-1] + 1 - cols[0] == w and rows[-1] + 1 - rows[0] == h:
                        ok = True
                        break
                if ok:
                    break
            assert ok, f"box {box} is not the tight ink box of source digit {k} at any allowed scale"
    assert min(n_digits) >= 1 and max(n_digits) >= 5


def test_config_and_split_errors():
    with pytest.raises(ValueError, match="split must be one of"):
        render_scene("holdout", 0)
    with pytest.raises(ValueError, match="max_digit_size"):
        SceneConfig(max_digit_size=8)
    with pytest.raises(TypeError, match="seed"):
        SceneConfig(seed=1.5)
    with pytest.raises(IndexError):
        SceneDataset("val", SMALL).scene(3)


def test_export_loads_in_pycocotools_and_matches_dataset(tmp_path):
    from PIL import Image
    from pycocotools.coco import COCO

    counts = export_scenes(tmp_path / "d", SMALL)
    assert counts == {"train": 6, "val": 3, "test": 4}
    for split in ("train", "val", "test"):
        coco = COCO(str(tmp_path / "d" / "annotations" / f"instances_{split}.json"))
        assert sorted(coco.getCatIds()) == list(range(1, 11))
        assert [c["name"] for c in coco.loadCats(list(range(1, 11)))] == [str(d) for d in range(10)]
        ds = SceneDataset(split, SMALL)
        assert sorted(coco.getImgIds()) == list(range(1, len(ds) + 1))
        for i in range(len(ds)):
            item = ds[i]
            info = coco.loadImgs(int(item["image_id"]))[0]
            pixels = np.asarray(Image.open(tmp_path / "d" / "images" / split / info["file_name"]))
            assert np.array_equal(pixels, item["image"][0].numpy())
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[info["id"]]))
            xyxy = [[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)]
            assert np.allclose(np.array(xyxy).reshape(-1, 4), item["boxes"].numpy())
            assert [a["category_id"] for a in anns] == (item["labels"] + 1).tolist()
    with pytest.raises(FileExistsError):
        export_scenes(tmp_path / "d", SMALL)


def test_cli_export(tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["data", "scenes", "export", "--out", str(out), "--n-train", "2", "--n-val", "1", "--n-test", "1"]) == 0
    data = json.loads((out / "annotations" / "instances_test.json").read_text())
    assert data["images"][0]["file_name"] == "000000.png" and (out / "images" / "test" / "000000.png").is_file()
    assert main(["data", "scenes", "export", "--out", str(out), "--n-train", "2"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["data", "scenes", "export", "--out", str(tmp_path / "f"), "--n-train", "-1"]) == 2
    assert "n_train" in capsys.readouterr().err


def test_rgb_digit_scenes_for_previews_masks_match_boxes():
    from dlprimer.augment.sample import boxes_from_masks
    from dlprimer.data.scenes import DigitScenes

    ds = DigitScenes(n=4, size=96, seed=3)
    for i in range(4):
        s = ds[i]
        n = len(s["boxes"])
        assert s["image"].shape == (3, 96, 96) and s["image"].dtype == torch.uint8
        assert s["masks"].shape == (n, 96, 96) and s["labels"].shape == (n,)
        assert torch.equal(boxes_from_masks(s["masks"]), s["boxes"])  # the box is the tight box of the ink mask
    grey = DigitScenes(n=4, size=96, seed=3, rgb=False)[0]
    assert grey["image"].shape == (1, 96, 96) and torch.equal(grey["boxes"], ds[0]["boxes"])
