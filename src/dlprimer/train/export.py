"""Export a trained run's model to ONNX or TorchScript, and check that the exported model computes what torch does.

``export(run_dir, format="onnx", out="model.onnx")``:

1. load the run (``config.json`` and ``checkpoint.pt``, the latter with ``torch.load(..., weights_only=True)``)
   through :func:`dlprimer.train.engine.load_run`; a run of the NumPy engine (``--engine scratch``) gets its
   weights copied into the torch zoo model of the same name (same parameter names and shapes), and that copy
   is checked against the NumPy engine's own logits first; a torch run's model is copied to the CPU in float32
   (a run trained on CUDA exports the same way: the reference is always the CPU float32 model);
2. trace the torch model (eval mode, on the CPU, float32) on two test images — ONNX with torch's
   TorchScript-based exporter (``dynamo=False``: torch 2.14's default dynamo exporter needs ``onnxscript``),
   the batch axis declared dynamic; TorchScript with ``torch.jit.trace``;
3. **check** the exported bytes before anything is written: load them back (``onnxruntime`` for ONNX,
   ``torch.jit.load`` for TorchScript), run them on a batch of ``n_check`` test images (a different batch size
   than the trace) and compare with the torch model's logits: the largest absolute difference must be
   ``<= tolerance`` (default 1e-4), else :class:`ExportMismatchError` and nothing is written;
4. write the checked bytes atomically to ``out`` (the overwrite rule of :func:`dlprimer._io.prepare_output`).

Inputs of the exported model: ``images`` float32 ``[N, C, H, W]``, normalized as in training (``(x - mean) /
std`` per channel with the training split's statistics, in :attr:`ExportResult.normalization`); output ``logits``
float32 ``[N, num_classes]``.
"""

from __future__ import annotations

import copy
import io
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer._checks import check_choice, check_float, check_int
from dlprimer._io import atomic_write, prepare_output

__all__ = ["FORMATS", "ExportMismatchError", "ExportResult", "default_export_path", "export"]

#: export formats and the file suffix each one gets by default
FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
#: images of the trace (a batch size different from the check's, so a fixed batch axis cannot pass)
TRACE_BATCH = 2


class ExportMismatchError(RuntimeError):
    """The exported model's outputs differ from torch's by more than the tolerance (nothing was written)."""


@dataclass
class ExportResult:
    """What :func:`export` wrote and how well the exported model matches torch.

    ``max_abs_diff``: ``max |exported(x) - torch(x)|`` over the logits of ``n_checked`` test images.
    """

    path: Path
    format: str
    model: str
    input_shape: list[int]
    num_classes: int
    n_checked: int
    max_abs_diff: float
    tolerance: float
    normalization: dict[str, list[float]]
    checked_with: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def default_export_path(run_dir: str | os.PathLike[str], format: str = "onnx") -> Path:
    """``RUN_DIR/model.onnx`` or ``RUN_DIR/model.torchscript.pt``."""
    fmt = check_choice(format, "format", FORMATS)
    return Path(run_dir) / f"model{FORMATS[fmt]}"


def _load_torch_model(run_dir: Path) -> tuple[Any, nn.Module, Any, Any]:
    """``(config, torch model on the CPU in eval mode, the run's engine, the run's task)``."""
    from dlprimer.train.engine import load_run

    config, engine, task = load_run(run_dir, kind="classification")
    if isinstance(getattr(engine, "model", None), nn.Module):
        model = copy.deepcopy(engine.model).float().cpu()
    else:  # the NumPy engine: the same architecture in torch, same parameter names and shapes
        state = engine.state_dict()["model"]
        model = task.build_model(config)
        model.load_state_dict({k: torch.as_tensor(np.asarray(v)).float() for k, v in state.items()}, strict=True)
    return config, model.eval(), engine, task


def _export_bytes(model: nn.Module, example: torch.Tensor, fmt: str) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # torch's deprecation notes about the exporters it still ships
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        if fmt == "onnx":
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,
                input_names=["images"],
                output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            )
        else:
            traced = torch.jit.trace(model, example, check_trace=False)
            torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _run_exported(blob: bytes, fmt: str, images: np.ndarray) -> np.ndarray:
    if fmt == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
        return np.asarray(session.run(["logits"], {"images": images.astype(np.float32)})[0], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(io.BytesIO(blob), map_location="cpu")
    with torch.no_grad():
        return loaded(torch.from_numpy(images.astype(np.float32))).double().numpy()


def _require_onnx() -> None:
    missing = []
    for name in ("onnx", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ModuleNotFoundError(
            f"ONNX export needs {' and '.join(missing)}: pip install onnx onnxruntime (or dlprimer[test])",
            name=missing[0],
        )


def export(
    run_dir: str | os.PathLike[str],
    format: str = "onnx",
    out: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    n_check: int = 64,
    tolerance: float = 1e-4,
) -> ExportResult:
    """Export the model of the run in ``run_dir`` to ``out`` (default :func:`default_export_path`) as
    ``format`` (``"onnx"`` or ``"torchscript"``), after checking it on ``n_check`` test images (see the
    module docstring). Returns an :class:`ExportResult`."""
    fmt = check_choice(format, "format", list(FORMATS))
    n_check = check_int(n_check, "n_check", low=1, high=4096)
    tolerance = check_float(tolerance, "tolerance", low=0.0)
    run_dir = Path(run_dir)
    out_path = prepare_output(default_export_path(run_dir, fmt) if out is None else out, overwrite=overwrite)
    if fmt == "onnx":
        _require_onnx()

    config, model, engine, task = _load_torch_model(run_dir)  # 1. the run
    images = np.ascontiguousarray(np.asarray(task.splits.test.images[:n_check], dtype=np.float32))
    if images.shape[0] == 0:
        raise ValueError(f"run {run_dir} has no test images to check the export on")
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).double().numpy()  # [N, num_classes]
    if not isinstance(getattr(engine, "model", None), nn.Module):  # weights copied from NumPy: check the copy
        own = np.asarray(engine.predict(images), dtype=np.float64)
        own_diff = float(np.max(np.abs(own - expected))) if own.shape == expected.shape else float("inf")
        if not own_diff <= tolerance:
            raise ExportMismatchError(
                f"the torch copy differs from the run's {config.engine} engine by {own_diff:.3g} > {tolerance:g}"
            )

    blob = _export_bytes(model, torch.from_numpy(images[:TRACE_BATCH].copy()), fmt)  # 2. export
    got = _run_exported(blob, fmt, images)  # 3. check
    if got.shape != expected.shape:
        raise ExportMismatchError(f"exported model returned shape {got.shape}, torch {expected.shape}")
    diff = float(np.max(np.abs(got - expected)))
    if not diff <= tolerance:
        raise ExportMismatchError(
            f"exported {fmt} model differs from torch by {diff:.3g} > tolerance {tolerance:g}; nothing written"
        )
    atomic_write(out_path, lambda fh: fh.write(blob))  # 4. write
    return ExportResult(
        path=out_path,
        format=fmt,
        model=str(config.model),
        input_shape=[int(d) for d in images.shape[1:]],
        num_classes=int(expected.shape[1]),
        n_checked=int(images.shape[0]),
        max_abs_diff=diff,
        tolerance=tolerance,
        normalization={"mean": [float(m) for m in task.mean], "std": [float(v) for v in task.std]},
        checked_with="onnxruntime" if fmt == "onnx" else "torch.jit.load",
    )
