"""``dlprimer schedule plot``: draw learning-rate schedules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dlprimer.cli._app import app

schedule_app = typer.Typer(help="Learning-rate schedules.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("plot")
def plot(
    names: Annotated[list[str], typer.Argument(help="schedule names, e.g. cosine step onecycle")],
    out: Annotated[Path, typer.Option(help="image file to write (PNG)")] = Path("schedules.png"),
    lr: Annotated[float, typer.Option(help="base (peak) learning rate")] = 0.1,
    steps: Annotated[int, typer.Option(help="total optimizer steps")] = 1000,
    warmup: Annotated[int, typer.Option(help="warmup steps")] = 0,
    log: Annotated[bool, typer.Option(help="logarithmic lr axis")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output file")] = False,
) -> None:
    """Plot schedules (lr against optimizer step) into a PNG."""
    from dlprimer.schedules import build_schedule, plot_schedules

    for name in names:  # fail on a bad name before touching the output
        build_schedule(name, lr, steps, warmup_steps=warmup)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    plot_schedules(names, str(out), base_lr=lr, total_steps=steps, warmup_steps=warmup, log_scale=log)
    print(f"wrote {out}")
