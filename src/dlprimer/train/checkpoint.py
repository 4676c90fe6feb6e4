"""Checkpoints: written atomically, read back with ``torch.load(..., weights_only=True)`` only, checked before use.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (never arbitrary pickled objects):
``format``, ``epoch`` (completed epochs), ``engine`` (``model``, ``optimizer``, ``schedule``, ``scaler``),
``rng``, ``history`` (the metric rows so far), ``config``, ``data`` (what identifies the data),
``elapsed_s`` and, with early stopping, ``best`` (epoch and value of the best monitored metric).

:func:`validate_checkpoint` checks it against the run before anything is restored: the structure, the model's
parameter names, shapes and dtypes against the model the config builds, ``0 <= epoch <= epochs``, one
history row per completed epoch, and the RNG state sizes. Each violation is one
:class:`~dlprimer.train.errors.CheckpointError` line naming the file and the field.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dlprimer._io import atomic_write
from dlprimer.train.errors import CheckpointError
from dlprimer.train.faults import crash_point

FORMAT = "dlprimer-checkpoint-v1"
REQUIRED = ("epoch", "engine", "rng", "history", "config")


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format tag) to ``path`` atomically (crash point ``during-checkpoint-write``)."""

    def writer(fh: Any) -> None:
        torch.save({"format": FORMAT, **state}, fh)
        fh.flush()
        crash_point("during-checkpoint-write")

    atomic_write(path, writer)


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``, no warning noise); a missing or corrupt file raises
    one clear error."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(p, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError,
            AttributeError, TypeError, KeyError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {p} is corrupt or not a dlprimer checkpoint ({first[:200]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {p} is not a dlprimer checkpoint (format tag {FORMAT!r} missing)")
    return state


def _fail(path: Path, field: str, problem: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {path}: {field}: {problem}")


def _check_tensors(path: Path, field: str, found: object, expected: Mapping[str, Any]) -> None:
    """``found`` must have exactly ``expected``'s keys, each a tensor of the same shape and dtype."""
    if not isinstance(found, Mapping):
        raise _fail(path, field, f"expected a dict of tensors, got {type(found).__name__}")
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    if missing:
        raise _fail(path, field, f"missing {len(missing)} entries (first {missing[0]!r}); does the checkpoint "
                                 "belong to another model?")
    if extra:
        raise _fail(path, field, f"{len(extra)} unexpected entries (first {extra[0]!r}); does the checkpoint "
                                 "belong to another model?")
    for key, ref in expected.items():
        value = found[key]
        if isinstance(ref, torch.Tensor):
            if not isinstance(value, torch.Tensor):
                raise _fail(path, f"{field}.{key}", f"expected a tensor, got {type(value).__name__}")
            if tuple(value.shape) != tuple(ref.shape):
                raise _fail(path, f"{field}.{key}", f"shape {tuple(value.shape)} does not fit the model's "
                                                    f"{tuple(ref.shape)}")
            if value.dtype != ref.dtype:
                raise _fail(path, f"{field}.{key}", f"dtype {value.dtype} does not fit the model's {ref.dtype}")


def _check_rng(path: Path, rng: object) -> None:
    if not isinstance(rng, Mapping):
        raise _fail(path, "rng", f"expected a dict, got {type(rng).__name__}")
    t = rng.get("torch")
    size = torch.get_rng_state().numel()
    if not isinstance(t, torch.Tensor) or t.dtype != torch.uint8 or t.numel() != size:
        raise _fail(path, "rng.torch", f"expected a uint8 tensor of {size} bytes")
    n = rng.get("numpy")
    if not isinstance(n, Mapping) or not isinstance(n.get("key"), torch.Tensor) or n["key"].numel() != 624 \
            or not isinstance(n.get("pos"), int) or not 0 <= n["pos"] <= 624:
        raise _fail(path, "rng.numpy", "expected a Mersenne Twister state (624 words and a position in [0, 624])")
    p = rng.get("python")
    if not isinstance(p, Mapping) or not isinstance(p.get("state"), list) or len(p["state"]) != 625 \
            or not all(isinstance(v, int) for v in p["state"]):
        raise _fail(path, "rng.python", "expected Python's random state (625 integers)")


def validate_checkpoint(state: dict[str, Any], path: str | os.PathLike[str], *, epochs: int,
                        engine_template: Mapping[str, Any], model_name: str) -> None:
    """Check a loaded checkpoint against the run before restoring anything (see the module docstring).

    ``engine_template`` is a freshly built engine's ``state_dict()`` (what the config's model looks like);
    ``epochs`` the run's epoch count.
    """
    p = Path(path)
    for key in REQUIRED:
        if key not in state:
            raise _fail(p, key, "missing")
    saved_model = state["config"].get("model") if isinstance(state["config"], Mapping) else None
    if saved_model != model_name:
        raise _fail(p, "config.model", f"the checkpoint was written for model {saved_model!r}, but config.json "
                                       f"names {model_name!r}")
    epoch = state["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= epochs:
        raise _fail(p, "epoch", f"must be an int in [0, epochs={epochs}], got {epoch!r}")
    history = state["history"]
    if not isinstance(history, list) or len(history) != epoch:
        n = len(history) if isinstance(history, list) else type(history).__name__
        raise _fail(p, "history", f"must hold one row per completed epoch ({epoch}), got {n}")
    for i, row in enumerate(history, start=1):
        if not isinstance(row, Mapping) or row.get("epoch") != i:
            raise _fail(p, f"history[{i - 1}]", f"expected the row of epoch {i}")
    engine = state["engine"]
    if not isinstance(engine, Mapping):
        raise _fail(p, "engine", f"expected a dict, got {type(engine).__name__}")
    for key in engine_template:
        if key not in engine:
            raise _fail(p, f"engine.{key}", "missing")
    _check_tensors(p, "engine.model", engine["model"], engine_template["model"])
    _check_rng(p, state["rng"])
