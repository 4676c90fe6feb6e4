"""The root Typer application; command modules register themselves on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="dlprimer",
    help="The fundamentals of deep learning and object detection as working, verified code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """dlprimer: deep-learning and detection fundamentals, verified against torch, torchvision, pycocotools."""


@app.command()
def version() -> None:
    """Print the dlprimer version."""
    from dlprimer import __version__

    print(__version__)
