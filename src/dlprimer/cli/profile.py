"""``dlprimer profile MODEL``: per-layer params / MACs / FLOPs, receptive fields and speed of a zoo model.

The complexity table is computed on the meta device (shapes only, no arithmetic, no weights), so even
VGG-19 at 224×224 profiles in a fraction of a second; ``--speed`` builds the real model on the CPU
(or ``--device cuda``) and times it. Heavy imports stay inside the command so ``dlprimer --help`` is fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from dlprimer._io import atomic_write_json, prepare_output
from dlprimer.cli._app import app

#: resource limits: the complexity table runs on the meta device (no memory per element), ``--speed`` on
#: real tensors; an input or a batch past these is a one-line error instead of an allocation failure
MAX_INPUT_ELEMENTS = 1 << 31  # C·H·W of one input image
MAX_SPEED_INPUT_BYTES = 1 << 30  # float32 bytes of the largest --speed batch
MAX_BATCH_SIZE = 4096


def _fmt_count(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3f}{unit}"
    return str(n)


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sweep = tuple(int(b) for b in text.split(","))
    except ValueError:
        raise ValueError(f"--batch-sizes must be comma-separated ints like 1,2,4,8, got {text!r}") from None
    if not all(1 <= b <= MAX_BATCH_SIZE for b in sweep):
        raise ValueError(f"--batch-sizes must be ints between 1 and {MAX_BATCH_SIZE}, got {text!r}")
    return sweep


@app.command("profile")
def profile_command(
    model: Annotated[str, typer.Argument(help="Model name from the zoo, e.g. resnet50 (see `dlprimer models list`).")],
    input: Annotated[str, typer.Option("--input", help="Input shape C×H×W, e.g. 3x224x224.")] = "3x224x224",
    rf: Annotated[bool, typer.Option("--rf", help="Add receptive field, jump and start per layer.")] = False,
    speed: Annotated[bool, typer.Option("--speed", help="Measure latency and throughput.")] = False,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the table as JSON (what profile(...).to_dict() returns).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --json file.")] = False,
    num_classes: Annotated[int, typer.Option("--num-classes", help="Classifier outputs.")] = 1000,
    small_input: Annotated[bool, typer.Option("--small-input", help="Small-input (32×32) stem.")] = False,
    device: Annotated[str, typer.Option("--device", help="Device for --speed: auto, cpu or cuda.")] = "auto",
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", help="Throughput sweep, e.g. 1,2,4,8.")] = "1,2,4,8,16",
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the totals.")] = False,
) -> None:
    """Per-layer complexity table (params, MACs, FLOPs = 2·MACs, other ops, activation memory)."""
    import torch
    from rich.console import Console
    from rich.table import Table

    from dlprimer import models
    from dlprimer.analysis.complexity import parse_input_shape, profile
    from dlprimer.analysis.receptive_field import profile_with_receptive_fields

    dims = parse_input_shape(input)
    elements = math.prod(dims)
    if elements > MAX_INPUT_ELEMENTS:
        raise ValueError(
            f"--input {input!r} has {elements:,} values per image; the limit is {MAX_INPUT_ELEMENTS:,} (2^31)"
        )
    sweep = _batch_sizes(batch_sizes) if speed else ()
    if speed and max(sweep) * elements * 4 > MAX_SPEED_INPUT_BYTES:
        raise ValueError(
            f"--speed: a batch of {max(sweep)} inputs of {input!r} takes {max(sweep) * elements * 4 / 2**30:.1f} GiB; "
            f"the limit is {MAX_SPEED_INPUT_BYTES / 2**30:.0f} GiB (use a smaller --input or --batch-sizes)"
        )
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {device!r}")
    if json_path is not None:
        prepare_output(json_path, overwrite=overwrite, option="--json")
    kwargs: dict[str, Any] = {"num_classes": num_classes, "in_channels": dims[0]}
    if small_input:
        kwargs["small_input"] = True
    with torch.device("meta"):
        net = models.create(model, **kwargs)
    unknown_rf: list[str] = []
    if rf:
        table, unknown_rf = profile_with_receptive_fields(net, dims)
    else:
        table = profile(net, dims)
    payload = table.to_dict(with_rf=rf)

    console = Console(width=160)
    if not quiet:
        t = Table(title=f"{model} on {'×'.join(map(str, dims))}")
        columns = ["name", "type", "output", "params", "MACs", "FLOPs", "other ops", "act. bytes"]
        if rf:
            columns += ["RF", "jump", "start"]
        for c in columns:
            t.add_column(c, justify="left" if c in ("name", "type", "output") else "right")
        for r in table.layers:
            cells = [
                r.name,
                r.type,
                "×".join(map(str, r.output_shape)) if r.output_shape else "-",
                _fmt_count(r.params),
                _fmt_count(r.macs),
                _fmt_count(r.flops),
                _fmt_count(r.other_ops),
                _fmt_count(r.activation_bytes),
            ]
            if rf:
                cells += [str(r.rf if r.rf is not None else "-"), str(r.jump or "-"), str(r.start or "0")]
            t.add_row(*cells)
        console.print(t)
    tot = table.total
    console.print(
        f"total: params {tot.params:,} | MACs {tot.macs:,} ({tot.macs / 1e9:.3f} GMACs) | "
        f"FLOPs {tot.flops:,} ({tot.flops / 1e9:.3f} GFLOPs) | other ops {tot.other_ops:,} | "
        f"activations {tot.activation_bytes / 2**20:.1f} MiB"
    )
    if tot.uncounted:
        console.print(f"uncounted ops (not in the totals): {', '.join(tot.uncounted)}")
    if rf and unknown_rf:
        console.print(f"receptive field unknown after: {', '.join(unknown_rf)}")

    if speed:
        from dlprimer.analysis.speed import measure_speed

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.manual_seed(0)
        real = models.create(model, **kwargs)
        report = measure_speed(real, dims, device=device, batch_sizes=sweep)
        payload["speed"] = report.to_dict()
        console.print(
            f"latency (batch 1, {report.device}, {report.threads} threads): p50 {report.latency_ms_p50:.2f} ms | "
            f"p90 {report.latency_ms_p90:.2f} ms | p99 {report.latency_ms_p99:.2f} ms"
        )
        console.print(
            f"throughput: {report.throughput_img_s:.1f} img/s at batch {report.best_batch_size} | "
            f"achieved {report.achieved_gflop_s:.1f} GFLOP/s"
        )

    if json_path is not None:
        atomic_write_json(json_path, payload)
        console.print(f"wrote {json_path}")
