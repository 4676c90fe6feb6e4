"""``dlprimer models list``, ``augment list``, ``inits list``: each prints its registry, and every printed name
is accepted by the command (or option) that takes it. (``schedules list`` is in ``test_cli_schedules.py``.)"""

from __future__ import annotations

import pytest

from dlprimer.augment import AUGMENTATIONS
from dlprimer.cli import main
from dlprimer.models import MODELS
from dlprimer.nn.init import INIT_SCHEMES
from dlprimer.train import TrainConfig


def _printed(capsys, *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.split()


def test_models_list_names_are_accepted_by_profile(capsys):
    names = _printed(capsys, "models", "list")
    assert names == MODELS.names() and "lenet5" in names and "resnet50" in names
    for name in names:
        assert main(["profile", name, "--quiet"]) == 0, name
        assert "total: params" in capsys.readouterr().out


def test_augment_list_names_are_accepted_by_preview(tmp_path, capsys):
    names = _printed(capsys, "augment", "list")
    assert names == AUGMENTATIONS.names() and {"hflip", "mosaic", "erase"} <= set(names)
    for name in names:
        out = tmp_path / f"{name}.png"
        assert main(["augment", "preview", "--ops", name, "--n", "1", "--out", str(out)]) == 0, name
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inits_list_names_are_accepted_by_train_config(capsys):
    names = _printed(capsys, "inits", "list")
    assert names == INIT_SCHEMES.names() and "kaiming_normal" in names
    for name in names:  # what `dlprimer train --init NAME` validates before it runs
        TrainConfig(init=name).validate()


def test_preview_ops_help_points_to_augment_list(capsys):
    assert main(["augment", "preview", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())  # unwrap rich's box
    assert "dlprimer augment list" in text


@pytest.mark.parametrize("group", ["models", "augment", "inits", "schedules"])
def test_list_takes_no_arguments(group, capsys, one_line_error):
    one_line_error(main([group, "list", "extra"]), capsys.readouterr().err, "extra")


def test_detect_list_names_are_accepted_by_detect_train(capsys):
    import torch

    from dlprimer.models.detection import DETECTORS, create
    from dlprimer.train.detection.config import DetectConfig

    names = _printed(capsys, "detect", "list")
    assert names == DETECTORS.names() and {"yolo", "fcos", "centernet", "fasterrcnn"} <= set(names)
    for name in names:
        DetectConfig(model=name)  # validates on construction: what `detect train --model NAME` checks before any write
        torch.manual_seed(0)
        model = create(name, num_classes=3, in_channels=1, image_size=64).eval()
        with torch.no_grad():
            preds = model.predict(torch.zeros(1, 1, 64, 64))
        assert len(preds) == 1, name
    assert main(["detect", "train", "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and all(repr(n) in err for n in names), err
