"""Callbacks: how the outside world watches a run without the loop knowing about screens or log files.

:func:`dlprimer.train.fit` calls, in order: ``on_start(info)`` once (``epochs``, ``first_epoch``, ``steps`` per
epoch, ``run_dir``), ``on_batch(i, loss)`` after each optimizer step, ``on_epoch(row)`` after each epoch's
checkpoint (``row`` is the ``metrics.jsonl`` row), ``on_close()`` when the epochs end (also after an error),
then ``on_end(summary)`` after ``summary.json`` is written. The CLI's progress bars are a callback; so are
the CSV and TensorBoard loggers (:mod:`dlprimer.train.loggers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class Callback:
    """No-op base class: override what you need."""

    def on_start(self, info: dict[str, Any]) -> None:
        """The run is about to train its first (or first resumed) epoch."""

    def on_batch(self, index: int, loss: float) -> None:
        """An optimizer step finished (``index`` counts from 0 within the epoch)."""

    def on_epoch(self, row: dict[str, Any]) -> None:
        """An epoch finished and its checkpoint is written."""

    def on_close(self) -> None:
        """Training ended (normally or not)."""

    def on_end(self, summary: dict[str, Any]) -> None:
        """``summary.json`` is written."""


class CallbackList(Callback):
    """Calls each callback in turn (plus a bare ``on_epoch`` function, for convenience)."""

    def __init__(self, callbacks: Sequence[Callback] = (),
                 on_epoch: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.callbacks = list(callbacks)
        self.epoch_fn = on_epoch

    def on_start(self, info: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_start(info)

    def on_batch(self, index: int, loss: float) -> None:
        for cb in self.callbacks:
            cb.on_batch(index, loss)

    def on_epoch(self, row: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_epoch(row)
        if self.epoch_fn is not None:
            self.epoch_fn(row)

    def on_close(self) -> None:
        for cb in self.callbacks:
            cb.on_close()

    def on_end(self, summary: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_end(summary)
