"""``dlprimer.train.export`` and ``dlprimer export``: ONNX and TorchScript files whose outputs equal torch's.

Oracles: the run's torch model (from ``load_run``) evaluated by torch; onnxruntime and ``torch.jit.load`` run
the written files independently, on batches of other sizes than the one exported and checked.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlprimer.cli import main
from dlprimer.train import TrainConfig, fit
from dlprimer.train.engine import load_run
from dlprimer.train.export import ExportMismatchError, default_export_path, export

ort = pytest.importorskip("onnxruntime", reason="ONNX export tests need onnxruntime (the test extra installs it)")
pytest.importorskip("onnx", reason="ONNX export tests need onnx (the test extra installs it)")

TOL = 1e-4


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return fit(TrainConfig(epochs=1, batch_size=64, device="cpu", out=str(out), name="tiny")).run_dir


def _torch_logits(run, images: np.ndarray) -> np.ndarray:
    _, engine, _ = load_run(run)
    model = engine.model.cpu().eval()
    with torch.no_grad():
        return model(torch.from_numpy(images)).double().numpy()


def _images(run, start: int, n: int) -> np.ndarray:
    _, _, data = load_run(run)
    return np.ascontiguousarray(data.splits.val.images[start:start + n], dtype=np.float32)


def test_onnx_equals_torch_on_other_batches(run_dir, tmp_path):
    out = tmp_path / "m.onnx"
    result = export(run_dir, "onnx", out)
    assert result.path == out and out.is_file() and result.checked_with == "onnxruntime"
    assert result.n_checked == 64 and result.input_shape == [1, 32, 32] and result.num_classes == 10
    assert 0.0 <= result.max_abs_diff <= TOL
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for start, n in ((0, 1), (5, 7), (100, 33)):  # the batch axis is dynamic
        images = _images(run_dir, start, n)
        got = session.run(None, {"images": images})[0]
        expected = _torch_logits(run_dir, images)
        assert got.shape == expected.shape == (n, 10)
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_equals_torch(run_dir, tmp_path):
    out = tmp_path / "m.pt"
    result = export(run_dir, "torchscript", out)
    assert result.max_abs_diff <= TOL and result.checked_with == "torch.jit.load"
    loaded = torch.jit.load(str(out))
    images = _images(run_dir, 3, 9)
    with torch.no_grad():
        got = loaded(torch.from_numpy(images)).double().numpy()
    np.testing.assert_allclose(got, _torch_logits(run_dir, images), rtol=0, atol=TOL)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_default_path_and_overwrite_rule(run_dir):
    path = default_export_path(run_dir, "torchscript")
    assert path == run_dir / "model.torchscript.pt" and not path.exists()
    try:
        assert export(run_dir, "torchscript").path == path
        before = path.read_bytes()
        with pytest.raises(FileExistsError, match="--overwrite"):
            export(run_dir, "torchscript")
        assert path.read_bytes() == before
        assert export(run_dir, "torchscript", overwrite=True).path == path
    finally:
        path.unlink(missing_ok=True)


def test_a_mismatch_writes_nothing(run_dir, tmp_path, monkeypatch):
    import dlprimer.train.export as mod

    real = mod._run_exported
    monkeypatch.setattr(mod, "_run_exported", lambda blob, fmt, images: real(blob, fmt, images) + 1e-3)
    with pytest.raises(ExportMismatchError, match="differs from torch by 0.001"):
        export(run_dir, "onnx", tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"format": "tflite"}, ValueError, "format must be one of 'onnx', 'torchscript'"),
        ({"format": 3}, TypeError, "format must be a str"),
        ({"n_check": 0}, ValueError, "n_check"),
        ({"n_check": 2.0}, TypeError, "n_check"),
        ({"tolerance": -1.0}, ValueError, "tolerance"),
    ],
)
def test_bad_arguments(run_dir, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        export(run_dir, out=tmp_path / "x", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_scratch_engine_run_exports(tmp_path):
    run = fit(TrainConfig(epochs=1, engine="scratch", batch_size=64, out=str(tmp_path), name="s")).run_dir
    result = export(run, "onnx", tmp_path / "s.onnx")
    assert result.max_abs_diff <= TOL
    _, engine, data = load_run(run)
    images = np.ascontiguousarray(data.splits.val.images[:11], dtype=np.float32)
    got = ort.InferenceSession(str(tmp_path / "s.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"images": images})[0]
    np.testing.assert_allclose(got, engine.logits(images), rtol=0, atol=TOL)  # the NumPy engine's own logits


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_export_reports_the_difference(run_dir, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(out), "--n-check", "16"]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "checked on 16 test images with onnxruntime" in text
    assert "max |exported - torch| = " in text and out.is_file()


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.is_dir() or p.read_bytes()) for p in sorted(folder.rglob("*"))}


def test_cli_export_bad_input_one_line(run_dir, tmp_path, capsys):
    (tmp_path / "keep.onnx").write_bytes(b"mine")
    (tmp_path / "empty").mkdir()
    before = _snapshot(tmp_path)
    cases = [
        (["export", str(run_dir), "--format", "tflite", "--out", str(tmp_path / "x")], ["format", "onnx"]),
        (["export", str(run_dir), "--out", str(tmp_path / "keep.onnx")], ["already exists", "--overwrite"]),
        (["export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.onnx")], ["run folder not found"]),
        (["export", str(tmp_path / "empty"), "--out", str(tmp_path / "x.onnx")], ["not a dlprimer run folder"]),
        (["export", str(run_dir), "--out", str(tmp_path / "empty")], ["is a folder"]),
    ]
    for argv, fragments in cases:
        rc, err = main(argv), capsys.readouterr().err
        assert rc == 2 and err.startswith("dlprimer: error: ") and err.count("\n") == 1, (argv, err)
        assert all(f in err for f in fragments), (argv, err)
        assert _snapshot(tmp_path) == before, argv
