"""Errors of the training job. All subclass ``ValueError``, so the CLI's error boundary prints them as one line
(exit status 2) and library users can catch them as bad input."""

from __future__ import annotations

__all__ = ["CheckpointError", "DivergedError", "RunFolderError", "TrainError"]


class TrainError(ValueError):
    """Base class of the training job's errors."""


class RunFolderError(TrainError):
    """A run folder is missing, not a dlprimer run folder, or inconsistent."""


class CheckpointError(TrainError):
    """A checkpoint is unreadable or does not fit the run (the message names the file and the field)."""


class DivergedError(TrainError):
    """The training loss became non-finite; the run keeps its last good checkpoint."""

    def __init__(self, message: str, epoch: int, loss: float) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss
