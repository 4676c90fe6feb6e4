"""The one output-file policy: the overwrite rule, then atomic writes that respect the umask.

* :func:`prepare_output` is called by every command and library function that writes a user-named file
  *before* any work is done: it refuses an existing path unless ``overwrite=True`` (one ``FileExistsError``
  message everywhere), refuses a folder where a file is expected (and the reverse), and never deletes
  anything.
* The atomic writers write to a temporary file in the target folder, then ``os.replace`` it onto the target.
  A reader (or a run killed mid-write) sees either the old file or the complete new one, never a torn
  file. The new file gets the mode a plain ``open()`` would give (``0o666 & ~umask``), not ``mkstemp``'s
  ``0o600``. Temporary files are named ``.<name>.*.tmp``; :func:`remove_stale_temporaries` cleans up the
  ones a killed process left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def prepare_output(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    kind: str = "file",
    option: str = "--out",
) -> Path:
    """Check that ``path`` may be written and return it as a ``Path``; creates and deletes nothing.

    ``kind="file"``: ``path`` is a file to write; an existing file is refused unless ``overwrite``; an
    existing folder is always refused. ``kind="dir"``: ``path`` is a folder a command fills with several files;
    an existing non-empty folder is refused unless ``overwrite`` (which lets the command replace the files it
    writes, never removes others); an existing file is always refused. ``option`` names the argument in the
    message (``--out``, ``--json``, ``path``).
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{option} must be a path, got {type(path).__name__}")
    p = Path(path)
    if kind == "file":
        if p.is_dir():
            raise IsADirectoryError(f"{option} {str(p)!r} is a folder; give a file path")
        if p.exists() and not overwrite:
            raise FileExistsError(f"{option} {str(p)!r} already exists; pass --overwrite to replace it")
        parent = p.parent
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(f"{option} {str(p)!r}: {str(parent)!r} is not a folder")
    else:
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"{option} {str(p)!r} is a file; give a folder path")
        if p.is_dir() and any(p.iterdir()) and not overwrite:
            raise FileExistsError(
                f"{option} {str(p)!r} already exists and is not empty; pass --overwrite to write into it"
            )
    return p


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the ``.<name>.*.tmp`` files that an interrupted atomic write left in ``folder``; return them."""
    removed = []
    d = Path(folder)
    if not d.is_dir():
        return removed
    for tmp in d.glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


@contextlib.contextmanager
def _atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None]) -> None:
    """Call ``writer(file)`` on a temporary binary file, fsync it, then move it onto ``path``."""
    with _atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj)`` to ``path`` atomically (load it back with ``weights_only=True``)."""
    import torch

    atomic_write(path, lambda fh: torch.save(obj, fh))


def atomic_savefig(fig: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path`` (PNG by default)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, **kwargs))
