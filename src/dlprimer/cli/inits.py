"""``dlprimer inits list``: the weight-initialization schemes (each one is accepted by ``train --init``)."""

from __future__ import annotations

import typer

from dlprimer.cli._app import app
from dlprimer.cli._names import init_names

inits_app = typer.Typer(help="Weight initialization schemes (dlprimer.nn.init).", no_args_is_help=True)
app.add_typer(inits_app, name="inits")


@inits_app.command("list")
def list_command() -> None:
    """Print the registered initialization schemes, one per line (use them with `dlprimer train --init`)."""
    for name in init_names():
        print(name)
