"""Command-line interface: thin wrappers that parse arguments, call the library and print or save its results.

Every command module registers itself on :data:`dlprimer.cli._app.app`. :func:`main` is the console entry
point and the one error boundary of the CLI (issue #14, item 5):

* an error caused by the input — a bad option or argument, a missing/unreadable/non-UTF-8 file, malformed
  JSON (or JSON nested too deeply), a corrupt or ill-fitting checkpoint, a resource limit (``MemoryError``,
  an input too large to allocate), a diverged run — prints **one line** ``dlprimer: error: <what was wrong>``
  on stderr and exits with status **2**;
* anything else is a bug in dlprimer: one line saying so, with the hint to rerun with ``--debug``, exit
  status **1**;
* ``--debug`` (anywhere on the command line) or the environment variable ``DLPRIMER_DEBUG=1`` lets the
  exception through with its full traceback instead.

Exceptions counted as input errors: ``ValueError`` (``json.JSONDecodeError`` and ``UnicodeDecodeError``
included), ``TypeError``, ``OSError`` (missing files, permissions, ``FileExistsError`` of the overwrite rule),
``MemoryError``, ``OverflowError``, ``FloatingPointError`` (divergence), the checkpoint readers' errors
(``pickle.UnpicklingError``, ``EOFError``, ``zipfile.BadZipFile``), ``RecursionError`` raised inside the
``json`` module, ``ModuleNotFoundError`` of an optional package that is not installed, and torch's
``RuntimeError`` only where it is clearly caused by the input: a state dict that does not fit the model, an
allocation that failed, or a tensor size that overflows. ``KeyError`` and every other exception are bugs:
input must be validated with a message that names what is wrong.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
import zipfile
from collections.abc import Sequence

import typer

# registration order does not matter: ``_app`` orders ``--help`` (main jobs, groups, then ``version``)
from dlprimer.cli import (  # noqa: F401  (registration)
    augment,
    boxes,
    coco_eval,
    cv,
    experiment,
    export,
    inits,
    models,
    profile,
    schedules,
    train,
)
from dlprimer.cli._app import app, state

try:  # typer >= 0.20 vendors click and raises its own exception classes
    from typer import TyperException as _UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException as _UsageError

__all__ = ["INPUT_ERRORS", "app", "main"]

#: exception classes that mean "the input was wrong" (exit status 2); see the module docstring
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    OSError,
    MemoryError,
    OverflowError,
    FloatingPointError,
    EOFError,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
)

#: fragments of torch ``RuntimeError`` messages that are caused by the input, and what to say about them
_TORCH_INPUT_ERRORS = (
    ("Error(s) in loading state_dict", "the checkpoint does not fit the model"),
    ("can't allocate memory", "not enough memory for this input"),
    ("out of memory", "not enough memory for this input"),
    ("not enough memory", "not enough memory for this input"),
    ("Storage size calculation overflowed", "the input is too large to allocate"),
)

MAX_MESSAGE = 600  # characters of one error line


def _debug_requested() -> bool:
    return state.debug or os.environ.get("DLPRIMER_DEBUG", "") not in ("", "0")


def _one_line(text: str) -> str:
    line = " ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def input_error_message(exc: BaseException) -> str | None:
    """The one-line message for an input error, or ``None`` when ``exc`` is not one (then it is a bug)."""
    if isinstance(exc, RecursionError):
        frames = traceback.extract_tb(exc.__traceback__)
        if any(f"{os.sep}json{os.sep}" in frame.filename for frame in frames[-8:]):
            return "the JSON input is nested too deeply to read"
        return None
    if isinstance(exc, RuntimeError):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
            return f"not enough memory for this input ({_one_line(exc)})"
        text = str(exc)
        for fragment, meaning in _TORCH_INPUT_ERRORS:
            if fragment in text:
                return f"{meaning}: {_one_line(text)}"
        return None
    if isinstance(exc, ModuleNotFoundError) and not (exc.name or "dlprimer").startswith("dlprimer"):
        return _one_line(exc)  # an optional package is not installed: the environment, not a bug of ours
    if isinstance(exc, UnicodeDecodeError):
        return f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, MemoryError):
        detail = _one_line(exc)
        return "not enough memory for this input" + (f" ({detail})" if detail else "; use a smaller size")
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None and str(exc).startswith("[Errno"):
        return f"{exc.strerror}: {exc.filename}"  # the system's message, without the "[Errno N]" noise
    if isinstance(exc, INPUT_ERRORS):
        return _one_line(exc) or type(exc).__name__
    return None


def _usage_message(exc: BaseException) -> str:
    message = _one_line(exc.format_message()) if hasattr(exc, "format_message") else _one_line(exc)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and getattr(ctx, "command_path", None):
        message += f" (see '{ctx.command_path} --help')"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit status (see the module doc)."""
    args = list(sys.argv[1:] if argv is None else argv)
    cut = args.index("--") if "--" in args else len(args)
    state.debug = "--debug" in args[:cut]
    args = [a for a in args[:cut] if a != "--debug"] + args[cut:]
    try:
        result = app(args=args, prog_name="dlprimer", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("dlprimer: interrupted", file=sys.stderr)
        return 130
    except _UsageError as exc:  # bad flags, missing arguments, a bare group name
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # the group's help
            return 0
        if _debug_requested():
            raise
        print(f"dlprimer: error: {_usage_message(exc)}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2) or 2)
    except Exception as exc:  # noqa: BLE001 - the one boundary: input errors vs bugs
        if _debug_requested():
            raise
        message = input_error_message(exc)
        if message is not None:
            print(f"dlprimer: error: {message}", file=sys.stderr)
            return 2
        detail = _one_line(exc)
        print(
            f"dlprimer: internal error (a bug in dlprimer): {type(exc).__name__}"
            + (f": {detail}" if detail else "")
            + " -- rerun with --debug to see the traceback, and please report it",
            file=sys.stderr,
        )
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
