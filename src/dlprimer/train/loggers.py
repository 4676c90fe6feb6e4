"""Extra metric logs of a run (``--log csv|tensorboard``), as :class:`~dlprimer.train.callbacks.Callback` objects.

``metrics.jsonl`` stays the record of truth; these are views of it, rebuilt from it so that a resumed run's log
equals an uninterrupted run's:

* ``csv``: ``metrics.csv`` in the run folder, rewritten atomically from ``metrics.jsonl`` after every epoch;
* ``tensorboard``: event files in ``RUN/tensorboard/`` via ``torch.utils.tensorboard`` (install the
  ``tensorboard`` package: ``pip install dlprimer[tensorboard]``); one scalar per metric, step = epoch.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from dlprimer._io import atomic_write_text
from dlprimer.train.callbacks import Callback


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


class CsvLogger(Callback):
    """``metrics.csv``: the rows of ``metrics.jsonl`` as CSV (header = every key, in order of first appearance;
    a row without a key, e.g. a detection epoch without validation, leaves its cell empty)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def on_epoch(self, row: dict[str, Any]) -> None:
        rows = _rows(self.run_dir)
        if not rows:
            return
        buf = io.StringIO()
        fields = list(dict.fromkeys(key for r in rows for key in r))
        writer = csv.DictWriter(buf, fieldnames=fields, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.run_dir / "metrics.csv", buf.getvalue())


class TensorBoardLogger(Callback):
    """Scalars of every epoch row into ``RUN/tensorboard/``."""

    def __init__(self, run_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ValueError("--log tensorboard needs the tensorboard package: pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))

    def on_epoch(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, global_step=int(row["epoch"]))
        self.writer.flush()

    def on_close(self) -> None:
        self.writer.close()


def check_logger(kind: str) -> None:
    """Fail before the run folder is claimed when the logger cannot work."""
    if kind == "tensorboard":
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ValueError("--log tensorboard needs the tensorboard package: pip install tensorboard") from None


def make_logger(kind: str, run_dir: Path) -> Callback | None:
    if kind == "csv":
        return CsvLogger(run_dir)
    if kind == "tensorboard":
        return TensorBoardLogger(run_dir)
    return None
