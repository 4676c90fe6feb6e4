"""``dlprimer models list``: the names of the model zoo (each one is accepted by ``profile`` and ``train``)."""

from __future__ import annotations

import typer

from dlprimer.cli._app import app
from dlprimer.cli._names import model_names

models_app = typer.Typer(help="The model zoo: LeNet-5 to DenseNet (dlprimer.models).", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_command() -> None:
    """Print the registered model names, one per line (use them with `dlprimer profile` or `train --model`)."""
    for name in model_names():
        print(name)
