"""``dlprimer profile``: table, JSON layout, receptive fields, speed, and one-line errors.

Oracles: torchvision's documented GMACs / parameter counts; VGG-16's published field (212, jump 32).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision.models as tvm

from dlprimer import models
from dlprimer.analysis import profile
from dlprimer.analysis.receptive_field import profile_with_receptive_fields
from dlprimer.cli import main


def test_profile_json_layout_and_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r18.json"
    rc = main(["profile", "resnet18", "--input", "3x224x224", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "layer1.0.conv1" in text and "GMACs" in text
    data = json.loads(out.read_text())
    assert set(data) == {"layers", "total"}
    total = data["total"]
    meta = tvm.ResNet18_Weights.IMAGENET1K_V1.meta
    assert total["params"] == meta["num_params"]
    assert abs(total["macs"] / 1e9 - meta["_ops"]) / meta["_ops"] < 0.01
    assert total["flops"] == 2 * total["macs"]
    first = data["layers"][0]
    assert first["name"] == "conv1" and first["type"] == "Conv2d" and first["output_shape"] == [1, 64, 112, 112]
    assert {"params", "macs", "flops", "other_ops"} <= set(first) and "rf" not in first
    assert sum(layer["macs"] for layer in data["layers"]) == total["macs"]


def test_profile_json_is_what_the_library_returns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, out_rf = tmp_path / "plain.json", tmp_path / "rf.json"
    assert main(["profile", "resnet18", "--input", "3x64x64", "--quiet", "--json", str(out)]) == 0
    assert main(["profile", "resnet18", "--input", "3x64x64", "--quiet", "--rf", "--json", str(out_rf)]) == 0
    with torch.device("meta"):
        net = models.create("resnet18", num_classes=1000, in_channels=3)
    assert json.loads(out.read_text()) == profile(net, (3, 64, 64)).to_dict()
    table, unknown = profile_with_receptive_fields(net, (3, 64, 64))
    expected = table.to_dict(with_rf=True)
    assert json.loads(out_rf.read_text()) == expected and expected["total"]["rf_unknown"] == unknown
    assert expected["total"]["units"]["flops"].startswith("floating-point operations")


def test_profile_rf_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "vgg.json"
    assert main(["profile", "vgg16", "--rf", "--quiet", "--json", str(out)]) == 0
    layers = {layer["name"]: layer for layer in json.loads(out.read_text())["layers"]}
    assert (layers["features.30"]["rf"], layers["features.30"]["jump"]) == (212, 32)
    assert {"rf", "jump", "start", "aligned"} <= set(layers["features.0"])


def test_profile_speed_small_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lenet.json"
    rc = main(
        [
            "profile",
            "lenet5",
            "--input",
            "1x32x32",
            "--num-classes",
            "10",
            "--speed",
            "--batch-sizes",
            "1,2",
            "--quiet",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "p50" in text and "img/s" in text
    speed = json.loads(out.read_text())["speed"]
    assert speed["throughput_img_s"] > 0 and speed["best_batch_size"] in (1, 2)


def test_profile_small_input_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "resnet18", "--input", "1x32x32", "--small-input", "--num-classes", "10"]) == 0
    assert "1×64×32×32" in capsys.readouterr().out  # the 3×3 stride-1 stem keeps 32×32


def test_profile_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.json"
    out.write_text("keep me")
    assert main(["profile", "alexnet", "--quiet", "--json", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert main(["profile", "alexnet", "--quiet", "--json", str(out), "--overwrite"]) == 0
    assert json.loads(out.read_text())["total"]["params"] == 61100840
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["profile", "nosuchnet"], "unknown model"),
        (["profile", "resnet18", "--input", "3x"], "input shape"),
        (["profile", "alexnet", "--input", "3x32x32"], "forward pass failed"),
        (["profile", "lenet5", "--input", "1x32x32", "--speed", "--batch-sizes", "a,b"], "batch-sizes"),
    ],
)
def test_profile_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlprimer: error:") and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--input", "3x1000000000x1000000000"], ["--input", "values per image", "limit"]),
        (["--input", "3x40000x40000"], ["4,800,000,000 values per image", "2,147,483,648"]),
        (["--input", "1x32x32", "--speed", "--batch-sizes", "1,0"], ["--batch-sizes"]),
        (["--input", "1x32x32", "--speed", "--batch-sizes", "100000"], ["--batch-sizes", "4096"]),
        (["--input", "3x4096x4096", "--speed", "--batch-sizes", "1,64"], ["--speed", "GiB", "limit"]),
        (["--input", "1x32x32", "--speed", "--device", "tpu"], ["--device", "auto, cpu or cuda"]),
    ],
)
def test_resource_limits_are_one_line_and_write_nothing(
    args: list[str], fragments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], snapshot, one_line_error
) -> None:
    (tmp_path / "keep.json").write_text("mine")
    before = snapshot(tmp_path)
    rc = main(["profile", "lenet5", "--num-classes", "10", "--quiet", *args, "--json", str(tmp_path / "p.json")])
    one_line_error(rc, capsys.readouterr().err, *fragments)
    assert snapshot(tmp_path) == before
