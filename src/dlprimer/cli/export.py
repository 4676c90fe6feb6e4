"""``dlprimer export RUN_DIR --format onnx|torchscript --out FILE``: export a run's model, checked against torch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dlprimer.cli._app import app


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by dlprimer train.")],
    format: Annotated[str, typer.Option("--format", help="onnx (checked with onnxruntime) or torchscript.")] = "onnx",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (default: RUN_DIR/model.onnx or RUN_DIR/model.torchscript.pt)."),
    ] = None,
    n_check: Annotated[int, typer.Option("--n-check", help="Test images the exported model is checked on.")] = 64,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Largest allowed |exported - torch| logit.")] = 1e-4,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
) -> None:
    """Export the run's model to ONNX or TorchScript; its outputs are checked against torch's before writing."""
    from dlprimer.train.export import export

    result = export(run_dir, format=format, out=out, overwrite=overwrite, n_check=n_check, tolerance=tolerance)
    print(
        f"wrote {result.path} ({result.format}; input images float32 [N, {', '.join(map(str, result.input_shape))}] "
        f"normalized with mean {', '.join(f'{v:.6g}' for v in result.normalization['mean'])}, "
        f"std {', '.join(f'{v:.6g}' for v in result.normalization['std'])})"
    )
    print(
        f"checked on {result.n_checked} test images with {result.checked_with}: "
        f"max |exported - torch| = {result.max_abs_diff:.3g} (tolerance {result.tolerance:g})"
    )
