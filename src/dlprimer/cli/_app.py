"""The root Typer application; command modules register themselves on it.

``dlprimer --help`` lists the main jobs first (:data:`MAIN_JOBS`, in that order), then the noun groups
(:data:`GROUPS`), then anything else in registration order, and ``version`` last. Root options:
``--debug`` (show the traceback of any error) and ``--version``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperGroup

#: the jobs a user comes for, top of ``dlprimer --help`` in this order (those not yet registered are skipped)
MAIN_JOBS = ("train", "evaluate", "predict", "export", "profile", "coco-eval", "cv")
#: the noun groups, after the main jobs
GROUPS = ("detect", "data", "experiment", "models", "schedules", "augment", "boxes", "inits")
#: listed last
LAST = ("version",)


class _OrderedGroup(TyperGroup):
    """A Typer group whose ``--help`` (rich or plain) lists :data:`MAIN_JOBS`, :data:`GROUPS`, the rest, then
    :data:`LAST`."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = list(super().list_commands(ctx))
        head = [n for n in (*MAIN_JOBS, *GROUPS) if n in names]
        tail = [n for n in LAST if n in names]
        return head + [n for n in names if n not in head and n not in tail] + tail


class _State:
    """Root options seen by :func:`dlprimer.cli.main` (reset on every call)."""

    debug: bool = False


state = _State()

app = typer.Typer(
    name="dlprimer",
    cls=_OrderedGroup,
    help="The fundamentals of deep learning and object detection as working, verified code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from dlprimer import __version__

        print(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error (also: DLPRIMER_DEBUG=1).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the dlprimer version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """dlprimer: deep-learning and detection fundamentals, verified against torch, torchvision, pycocotools."""
    state.debug = state.debug or debug


@app.command()
def version() -> None:
    """Print the dlprimer version."""
    from dlprimer import __version__

    print(__version__)
