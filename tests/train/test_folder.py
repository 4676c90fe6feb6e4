"""Training on your own image folder, input sizes of every zoo model, and per-sample augmentation."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from dlprimer import models
from dlprimer.cli import main
from dlprimer.train import TrainConfig, fit


def snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three colour-coded classes, 14 images each, of different sizes and modes (RGB, grey, RGBA, palette)."""
    root = tmp_path_factory.mktemp("imgs") / "data"
    rng = np.random.default_rng(0)
    for k, name in enumerate(("red", "green", "blue")):
        (root / name).mkdir(parents=True)
        for i in range(14):
            h, w = 20 + 3 * i, 24 + 2 * k
            img = rng.integers(0, 70, (h, w, 3), dtype=np.uint8)
            img[..., k] += 170
            pil = Image.fromarray(img)
            if i % 4 == 1:
                pil = pil.convert("RGBA")
            elif i % 4 == 2:
                pil = pil.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
            pil.save(root / name / f"{i}.png")
        if k == 0:  # grey images inside a colour folder are expanded to RGB
            Image.fromarray(np.full((22, 22), 90, np.uint8)).save(root / name / "grey.png")
    return root


def small(tmp_path, folder, **kw):
    return TrainConfig(data=str(folder), out=str(tmp_path), name="f",
                       **{"epochs": 2, "batch_size": 8, "image_size": 16, "lr": 0.02, **kw})


def test_image_folder_trains_and_predicts(folder, tmp_path, capsys):
    result = fit(small(tmp_path, folder, augment="hflip,color", epochs=3))
    summary = result.summary
    assert summary["data"]["class_names"] == ["blue", "green", "red"] and summary["data"]["in_channels"] == 3
    assert set(summary["per_class"]) == {"blue", "green", "red"}
    assert summary["test_accuracy"] > 0.5  # colour-coded classes: far above chance (1/3)
    assert main(["predict", str(result.run_dir), str(folder / "red" / "3.png"), "--top-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "red" in out and "blue" in out and "green" in out


def test_corrupt_image_is_named_and_skippable(folder, tmp_path, capsys):
    bad = folder.parent / "bad"
    import shutil

    shutil.copytree(folder, bad)
    (bad / "green" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    before = snapshot(tmp_path)
    args = ["train", "--quiet", "--data", str(bad), "--epochs", "1", "--image-size", "16", "--out", str(tmp_path),
            "--name", "x"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "broken.png" in err and len(err.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before  # nothing written
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*args, "--skip-bad-images"]) == 0
    assert any("skipped 1 unreadable image" in str(w.message) for w in caught)


def test_augmentation_is_deterministic_per_epoch_and_index(folder):
    from dlprimer.data.images import load_image_folder
    from dlprimer.train.classification import AugmentedImages, build_augmentations

    s = load_image_folder(folder, image_size=16)
    ds = AugmentedImages(s.train.raw, s.train.labels, build_augmentations("crop,hflip,color"), s.mean, s.std, 5)
    ds.set_epoch(2)
    a = ds[3][0]
    assert a.shape == (3, 16, 16) and a.dtype == torch.float32
    assert torch.equal(a, ds[3][0])  # same (seed, epoch, index): same draw, whatever the worker
    ds.set_epoch(3)
    assert not torch.equal(a, ds[3][0])
    with pytest.raises(ValueError, match="unknown augmentation"):
        build_augmentations("hflip,twirl")
    with pytest.raises(ValueError, match="mixes several samples"):
        build_augmentations("mosaic")


def test_model_too_small_for_the_image_size_names_the_smallest(tmp_path, capsys):
    assert main(["train", "--quiet", "--model", "alexnet", "--image-size", "32", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "use --image-size 63 or larger" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_alexnet_trains_at_the_size_its_error_names(folder, tmp_path):
    result = fit(small(tmp_path, folder, model="alexnet", image_size=63, epochs=1, batch_size=16, lr=0.01))
    assert np.isfinite(result.summary["test_loss"])


@pytest.mark.parametrize("name", models.list_models())  # every model of the zoo (about 20 s in all)
def test_every_zoo_model_trains_at_its_declared_smallest_size_and_not_below(name):
    torch.manual_seed(0)
    model = models.create(name, num_classes=3, in_channels=3)
    smallest = model.min_input_size
    assert isinstance(smallest, int) and smallest >= 1
    model.train()
    x = torch.randn(2, 3, smallest, smallest)
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 2])).backward()  # one training step's backward
    assert out.shape == (2, 3)
    if smallest > 1:
        with pytest.raises(RuntimeError):
            model.eval()(torch.randn(1, 3, smallest - 1, smallest - 1))


def test_summary_json_of_a_folder_run(folder, tmp_path):
    run = fit(small(tmp_path, folder, epochs=1)).run_dir
    saved = json.loads((run / "summary.json").read_text())
    assert saved["status"] == "completed" and saved["data"]["source"] == "folder"


def test_cli_folder_run_records_the_folder_learning_rate_unless_given(folder, tmp_path):
    common = ["train", "--data", str(folder), "--out", str(tmp_path), "--epochs", "1", "--batch-size", "16",
              "--image-size", "16"]
    assert main([*common, "--name", "auto"]) == 0
    assert json.loads((tmp_path / "auto" / "config.json").read_text())["lr"] == 0.005
    assert main([*common, "--name", "given", "--lr", "0.03"]) == 0
    assert json.loads((tmp_path / "given" / "config.json").read_text())["lr"] == 0.03
