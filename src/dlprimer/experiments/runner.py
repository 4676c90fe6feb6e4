"""Running experiments into an output folder: ``DIR/<name>/result.json`` plus figures.

The folder rule: one output folder holds the results of **one seed and one mode** (quick or full). Before
anything runs, every ``DIR/*/result.json`` is read; a result of another seed or mode makes the run fail with a
``ValueError`` naming both (use another ``--out``), so a report never mixes them. Results of the same seed and
mode are replaced experiment by experiment. Nothing else in the folder is touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from dlprimer._checks import check_bool, check_int
from dlprimer._io import prepare_output, remove_stale_temporaries
from dlprimer.experiments.base import ExperimentResult
from dlprimer.experiments.registry import EXPERIMENTS, get_experiment

__all__ = ["DEFAULT_OUT", "check_out_folder", "load_result", "load_results", "run_experiments"]

DEFAULT_OUT = Path("runs") / "experiments"


def _mode(quick: bool) -> str:
    return "quick" if quick else "full"


def load_result(out: str | os.PathLike[str], name: str) -> ExperimentResult | None:
    """The result stored in ``out/<name>/result.json``, or ``None`` when there is none."""
    path = Path(out) / name / "result.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable result file: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not an experiment result (expected a JSON object)")
    return ExperimentResult.from_json(data)


def load_results(out: str | os.PathLike[str]) -> dict[str, ExperimentResult]:
    """Every result in ``out`` (folders named after a registered experiment), by name."""
    found: dict[str, ExperimentResult] = {}
    root = Path(out)
    if not root.is_dir():
        return found
    for name in EXPERIMENTS.names():
        result = load_result(root, name)
        if result is not None:
            found[name] = result
    return found


def check_out_folder(out: str | os.PathLike[str], seed: int, quick: bool, option: str = "--out") -> Path:
    """Refuse a path that is a file, or a folder holding results of another seed or mode (see module doc)."""
    path = prepare_output(out, kind="dir", overwrite=True, option=option)
    mode = _mode(quick)
    for name, result in load_results(path).items():
        if result.seed != seed or result.mode != mode:
            raise ValueError(
                f"{option} {str(path)!r} holds results of seed {result.seed}, {result.mode} mode ({name}); "
                f"it cannot take seed {seed}, {mode} mode: give another {option} folder"
            )
    return path


def run_experiments(
    names: Sequence[str] | Iterable[str],
    out: str | os.PathLike[str] = DEFAULT_OUT,
    seed: int = 0,
    quick: bool = False,
    on_start: Callable[[str], None] | None = None,
) -> list[ExperimentResult]:
    """Run the named experiments into ``out/<name>/``; every name and the folder are checked first."""
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    quick = check_bool(quick, "quick")
    experiments = [get_experiment(n) for n in names]
    if not experiments:
        raise ValueError("give at least one experiment name; known experiments: " + ", ".join(EXPERIMENTS.names()))
    for e in experiments:
        if e.requires is not None:
            raise ValueError(f"experiment {e.name!r} cannot run: {e.requires}")
    root = check_out_folder(out, seed, quick)
    results = []
    for e in experiments:
        if on_start is not None:
            on_start(e.name)
        folder = root / e.name
        remove_stale_temporaries(folder)
        results.append(e.run(folder, seed=seed, quick=quick))
    return results
