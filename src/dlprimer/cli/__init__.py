"""Command-line interface: thin wrappers that parse arguments, call the library and print or plot.

Every command module registers itself on :data:`dlprimer.cli._app.app`. :func:`main` is the console
entry point: bad input (``ValueError``, ``TypeError``, ``OSError``) becomes one line on stderr and exit
status 2, never a traceback. Set ``DLPRIMER_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from dlprimer.cli import (  # noqa: F401  (registration)
    augment,
    boxes,
    coco_eval,
    data,
    detect,
    profile,
    schedule,
    train,
)
from dlprimer.cli._app import app

try:  # typer >= 0.20 vendors click and raises its own exception classes
    from typer import TyperException as _UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException as _UsageError

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="dlprimer", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("dlprimer: aborted", file=sys.stderr)
        return 130
    except _UsageError as exc:  # bad flags, missing arguments: click's own one-paragraph message
        exc.show()
        return int(exc.exit_code)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        if os.environ.get("DLPRIMER_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"dlprimer: error: {message}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
