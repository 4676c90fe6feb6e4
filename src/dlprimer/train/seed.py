"""``seed_everything``: one seed for Python, NumPy and torch (CPU and CUDA), and deterministic cuDNN.

The notes' 设置随机数种子 snippet sets ``random``, ``numpy`` and ``torch`` seeds and cuDNN flags; this adds
``torch.use_deterministic_algorithms`` (warn-only, since some CUDA kernels have no deterministic version)
and ``PYTHONHASHSEED`` for child processes. With it, the same seed gives bit-identical results on the CPU.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed ``random``, ``numpy.random``, ``torch`` (all devices); make cuDNN deterministic if asked."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global RNG is what user code draws from
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def rng_state() -> dict[str, object]:
    """The global RNG states as tensors and lists, so a checkpoint loads with ``weights_only=True``."""
    np_state = np.random.get_state()  # noqa: NPY002
    py_state = random.getstate()
    state: dict[str, object] = {
        "torch": torch.get_rng_state(),
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]),
                   "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np_state = ("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    np.random.set_state(np_state)  # noqa: NPY002
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
