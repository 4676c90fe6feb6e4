"""``dlprimer schedules list|plot``: the learning-rate schedules and a plot of lr against optimizer step.

``dlprimer schedule plot`` (the old name) still works as a hidden alias of the group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dlprimer._io import prepare_output
from dlprimer.cli._app import app
from dlprimer.cli._names import schedule_names

schedules_app = typer.Typer(help="Learning-rate schedules (dlprimer.schedules).", no_args_is_help=True)
app.add_typer(schedules_app, name="schedules")
app.add_typer(schedules_app, name="schedule", hidden=True)  # the old name

#: the longest plot: one evaluation per step (10^6 steps take about two seconds and 100 MB)
MAX_PLOT_STEPS = 1_000_000


@schedules_app.command("list")
def list_command() -> None:
    """Print the registered schedule names, one per line (use them with `schedules plot` or `train --schedule`)."""
    for name in schedule_names():
        print(name)


@schedules_app.command("plot")
def plot(
    names: Annotated[
        list[str], typer.Argument(help="Schedule names, e.g. cosine step onecycle (see `schedules list`).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Image file to write (.png, .pdf, .svg).")] = Path("schedules.png"),
    lr: Annotated[float, typer.Option("--lr", help="Base (peak) learning rate.")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help=f"Total optimizer steps (at most {MAX_PLOT_STEPS:,}).")] = 1000,
    warmup_steps: Annotated[int, typer.Option("--warmup-steps", help="Warmup, in optimizer steps.")] = 0,
    log: Annotated[bool, typer.Option("--log", help="Logarithmic lr axis.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
) -> None:
    """Plot schedules (lr against optimizer step) into one image file."""
    from dlprimer.schedules import build_schedule, plot_schedules

    if not 1 <= steps <= MAX_PLOT_STEPS:
        raise ValueError(
            f"--steps must be between 1 and {MAX_PLOT_STEPS:,} (a plot evaluates every step), got {steps:,}"
        )
    for name in names:  # every option is checked before the output is touched
        build_schedule(name, lr, steps, warmup_steps=warmup_steps)
    prepare_output(out, overwrite=overwrite)
    plot_schedules(names, str(out), base_lr=lr, total_steps=steps, warmup_steps=warmup_steps, log_scale=log)
    print(f"wrote {out}")
