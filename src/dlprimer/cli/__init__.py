"""Command-line interface: thin wrappers that parse arguments, call the library and print or plot.

Every command module registers itself on :data:`dlprimer.cli._app.app`. :func:`main` is the console
entry point: bad input (``ValueError``, ``TypeError``, ``OSError``) becomes one line on stderr and exit
status 2, never a traceback. Set ``DLPRIMER_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from dlprimer.cli import augment, boxes, coco_eval, profile, schedule, train  # noqa: F401  (registration)
from dlprimer.cli._app import app

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="dlprimer", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("dlprimer: aborted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (ValueError, TypeError, OSError, KeyError) as exc:
        if os.environ.get("DLPRIMER_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"dlprimer: error: {message}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
