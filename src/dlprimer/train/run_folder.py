"""The run folder: claim, config, metrics, checkpoint, summary — and the rules that keep it finishable.

Layout of ``OUT/NAME/``::

    .dlprimer-run     the marker: this folder is a dlprimer run folder (written first)
    config.json       every option (TrainConfig; a DetectConfig carries ``"task": "detection"``)
    metrics.jsonl     one JSON row per completed epoch (the only timing key is ``time_s``)
    checkpoint.pt     the last completed epoch (atomic; ``weights_only=True``)
    best.pt           with early stopping: the best epoch's checkpoint
    summary.json      test metrics and ``status``: ``completed`` | ``stopped_early`` | ``diverged``
    curves.png, confusion.png, metrics.csv (``--log csv``), tensorboard/ (``--log tensorboard``)

Lifecycle guarantees:

1. **Atomic claim.** A new run is assembled in a hidden sibling ``OUT/.NAME.claim-<pid>`` (marker, then
   ``config.json``) and renamed to ``OUT/NAME`` in one step, so ``OUT/NAME`` never exists without both: from
   the moment it exists, ``--resume`` can finish it (no checkpoint yet → start from epoch 0 with the saved
   config).
2. **Never destroy what is not ours.** ``OUT/NAME`` existing is an error unless ``overwrite``; with
   ``overwrite`` it must carry the marker (any other path: one-line error), and it is replaced only by
   :meth:`RunFolder.commit_swap` — after the new run has been validated, built and has started cleanly — by
   renaming the old folder aside, renaming the new one in, then deleting the old one.
3. **Resume cleans up.** Stale ``.*.tmp`` files of an interrupted atomic write are removed, and
   ``metrics.jsonl`` is rewritten from the checkpoint's history (a row appended after the last checkpoint
   is dropped; that epoch is trained again, identically).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlprimer._io import atomic_write_json, atomic_write_text, remove_stale_temporaries
from dlprimer.train.config import TrainConfig
from dlprimer.train.errors import RunFolderError

MARKER = ".dlprimer-run"
MARKER_TEXT = "dlprimer run folder v1\n"
CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
SUMMARY = "summary.json"


def is_run_folder(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder holding the dlprimer marker file."""
    p = Path(path)
    return p.is_dir() and (p / MARKER).is_file()


@dataclass
class RunFolder:
    """A run folder on disk (``path``); ``pending`` is the old folder that :meth:`commit_swap` replaces."""

    path: Path
    final: Path
    pending_old: Path | None = None

    # ------------------------------------------------------------------------------------ creating
    @staticmethod
    def check_target(out: str, name: str, overwrite: bool) -> Path:
        """The final path ``out/name``; raise unless it may be (re)written. Creates and deletes nothing."""
        target = Path(out) / name
        parent = Path(out)
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(f"cannot write the run folder {target}: --out {str(parent)!r} is a file")
        if target.exists() or target.is_symlink():
            if not overwrite:
                raise FileExistsError(f"run folder {target} already exists; pass --overwrite to replace it or "
                                      f"--resume {target} to continue it")
            if target.is_symlink() or not is_run_folder(target):
                raise FileExistsError(f"{target} exists and is not a dlprimer run folder (no {MARKER} file); "
                                      "refusing to replace it, choose another --name or --out")
        return target

    @classmethod
    def claim(cls, config: Any, name: str, overwrite: bool) -> RunFolder:
        """Create the run folder atomically with its marker and ``config.json`` (see the module docstring).

        Without an existing run, the folder is ``out/name`` at once. When ``overwrite`` replaces an earlier
        run, the new run lives in a hidden sibling until :meth:`commit_swap`.
        """
        target = cls.check_target(config.out, name, overwrite)
        parent = target.parent
        staging = parent / f".{name}.claim-{os.getpid()}"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir()
            atomic_write_text(staging / MARKER, MARKER_TEXT)
            atomic_write_json(staging / CONFIG, config.to_dict())
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise OSError(f"cannot write the run folder {target}: {exc.strerror or exc}") from None
        if target.exists():  # an earlier run to replace once this one has started cleanly
            return cls(path=staging, final=target, pending_old=target)
        try:
            os.rename(staging, target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise FileExistsError(f"cannot create the run folder {target}: {exc.strerror or exc}") from None
        return cls(path=target, final=target)

    def commit_swap(self) -> None:
        """Replace the earlier run (if any) by this one: old aside, new in, old deleted."""
        if self.pending_old is None:
            return
        aside = self.final.parent / f".{self.final.name}.old-{os.getpid()}"
        os.rename(self.final, aside)
        os.rename(self.path, self.final)
        self.path = self.final
        self.pending_old = None
        shutil.rmtree(aside, ignore_errors=True)

    def abandon(self) -> None:
        """Remove a staged (never swapped-in) run folder after a failed start."""
        if self.pending_old is not None and self.path != self.final:
            shutil.rmtree(self.path, ignore_errors=True)

    # ------------------------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunFolder:
        """An existing run folder (``--resume``, ``evaluate``); stale temporary files are removed."""
        p = Path(path)
        if not p.is_dir():
            raise FileNotFoundError(f"run folder not found: {p}")
        if not (p / CONFIG).is_file():
            raise RunFolderError(f"{p / CONFIG} not found: {p} is not a dlprimer run folder")
        return cls(path=p, final=p)

    def remove_stale_temporaries(self) -> list[Path]:
        return remove_stale_temporaries(self.path)

    # ------------------------------------------------------------------------------------ files
    def read_config(self) -> Any:
        """The run's config: a ``DetectConfig`` when ``config.json`` says ``"task": "detection"``, else a
        :class:`TrainConfig`; any problem is one :class:`RunFolderError` line naming the file."""
        path = self.path / CONFIG
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunFolderError(f"{path} not found: {self.path} is not a dlprimer run folder") from None
        except (UnicodeDecodeError, RecursionError):
            raise RunFolderError(f"{path} is not valid UTF-8 JSON") from None
        except json.JSONDecodeError as exc:
            raise RunFolderError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
        try:
            if isinstance(data, dict) and data.get("task") == "detection":
                from dlprimer.train.detection.config import DetectConfig

                return DetectConfig.from_dict(data).validate()
            return TrainConfig.from_dict(data).validate()
        except (ValueError, TypeError) as exc:
            raise RunFolderError(f"{path}: {exc}") from None

    def write_config(self, config: Any) -> None:
        atomic_write_json(self.path / CONFIG, config.to_dict())

    def write_metrics(self, rows: Iterable[dict[str, Any]]) -> None:
        """Replace ``metrics.jsonl`` with ``rows`` (used on resume: the checkpoint's history is the truth)."""
        atomic_write_text(self.path / METRICS, "".join(json.dumps(row) + "\n" for row in rows))

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.path / METRICS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / SUMMARY, summary)

    def remove_summary(self) -> None:
        (self.path / SUMMARY).unlink(missing_ok=True)

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def best(self) -> Path:
        return self.path / BEST
