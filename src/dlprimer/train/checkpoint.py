"""Checkpoints: written atomically, read back with ``torch.load(..., weights_only=True)`` only.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (never arbitrary pickled objects):
``format``, ``epoch`` (completed epochs), ``model``, ``optimizer``, ``schedule``, ``scaler``, ``rng``,
``history`` (the metric rows so far) and ``config``.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from dlprimer._io import atomic_torch_save

FORMAT = "dlprimer-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format tag) to ``path`` atomically."""
    atomic_torch_save({"format": FORMAT, **state}, path)


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``); a missing or corrupt file raises a clear error."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {p} is corrupt or not a dlprimer checkpoint ({first[:200]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"checkpoint {p} is not a dlprimer checkpoint (format tag {FORMAT!r} missing)")
    return state
