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
