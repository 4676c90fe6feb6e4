"""What an experiment is: a claim of the notes, a measurement, a criterion declared in code, a verdict.

An :class:`Experiment` carries its metadata (name, topic, the notes' section heading and the claim quoted in
Chinese, an English paraphrase, a two-line setup) and a :class:`Criterion`: a tuple of
:class:`Condition` s, each a threshold on one named number (``"loss_ratio_zero_over_he" > 2``). The
criterion is part of the experiment's definition, written before anything runs; the verdict is a pure
function of the measured numbers (:func:`verdict_of`):

* ``reproduced``      every condition holds;
* ``partly``          some but not all hold;
* ``not reproduced``  none holds (a missing or non-finite number fails its condition).

So moving one number just across its threshold flips the verdict, and the tests do exactly that for every
registered experiment. ``Experiment.run(out, seed, quick)`` measures, saves the figures (PNG) and writes
``out/result.json``::

    {"name", "topic", "section", "claim_zh", "claim_en", "setup", "criterion", "conditions", "verdict",
     "agrees_with_notes", "numbers", "seed", "mode", "figures"}

No absolute path and no timestamp goes into it; wall-clock measurements live only under keys whose name
contains ``time``, so two runs with the same seed give files that differ only there (and, for the few
experiments whose verdict is a ratio of timings, in that verdict).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlprimer._checks import check_bool, check_int
from dlprimer._io import atomic_savefig, atomic_write_json

__all__ = [
    "VERDICTS",
    "Condition",
    "Criterion",
    "Experiment",
    "ExperimentResult",
    "Measurement",
    "verdict_of",
]

VERDICTS = ("reproduced", "partly", "not reproduced")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Condition:
    """``numbers[number] <op> threshold``; ``op`` is one of ``>``, ``>=``, ``<``, ``<=``."""

    number: str
    op: str
    threshold: float
    meaning: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}, got {self.op!r}")
        if not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be finite, got {self.threshold!r}")

    def holds(self, numbers: Mapping[str, Any]) -> bool:
        """True when the number exists, is finite and satisfies the comparison."""
        value = numbers.get(self.number)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            return False
        value = float(value)
        return math.isfinite(value) and _OPS[self.op](value, self.threshold)

    def text(self) -> str:
        core = f"{self.number} {self.op} {self.threshold:g}"
        return f"{core} ({self.meaning})" if self.meaning else core


@dataclass(frozen=True)
class Criterion:
    """The conditions of a claim. All hold: reproduced; some: partly; none: not reproduced."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise ValueError("a criterion needs at least one condition")

    def verdict(self, numbers: Mapping[str, Any]) -> str:
        return verdict_of(self, numbers)

    def text(self) -> str:
        parts = " AND ".join(c.text() for c in self.conditions)
        if len(self.conditions) == 1:
            return f"reproduced if {parts}; otherwise not reproduced"
        return f"reproduced if {parts}; partly if only some hold; not reproduced if none holds"


def verdict_of(criterion: Criterion, numbers: Mapping[str, Any]) -> str:
    """The verdict the criterion gives these numbers (a pure function: no state, no randomness)."""
    held = sum(c.holds(numbers) for c in criterion.conditions)
    if held == len(criterion.conditions):
        return "reproduced"
    return "partly" if held else "not reproduced"


@dataclass
class Measurement:
    """What a measuring function returns: scalar ``numbers`` (the criterion reads them) and figures
    (``name -> matplotlib Figure``; saved as ``<name>.png``)."""

    numbers: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentResult:
    """The outcome of one run; :meth:`to_json` is the content of ``result.json``."""

    name: str
    topic: str
    section: str
    claim_zh: str
    claim_en: str
    setup: str
    criterion: str
    conditions: list[dict[str, Any]]
    verdict: str
    notes_agree: bool
    numbers: dict[str, float | None]
    seed: int
    mode: str
    figures: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "topic": self.topic, "section": self.section, "claim_zh": self.claim_zh,
            "claim_en": self.claim_en, "setup": self.setup, "criterion": self.criterion,
            "conditions": self.conditions, "verdict": self.verdict, "agrees_with_notes": self.notes_agree,
            "numbers": self.numbers, "seed": self.seed, "mode": self.mode, "figures": self.figures,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExperimentResult:
        try:
            return cls(
                name=data["name"], topic=data["topic"], section=data["section"], claim_zh=data["claim_zh"],
                claim_en=data["claim_en"], setup=data["setup"], criterion=data["criterion"],
                conditions=list(data["conditions"]), verdict=data["verdict"],
                notes_agree=bool(data["agrees_with_notes"]), numbers=dict(data["numbers"]),
                seed=int(data["seed"]), mode=data["mode"], figures=list(data["figures"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an experiment result: missing or bad field {exc}") from None


def _clean_number(value: Any) -> float | None:
    """JSON-safe scalar: a Python float, ``None`` for NaN/inf (which fail every condition)."""
    x = float(value)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Experiment:
    """One claim of the notes, its measurement and its criterion.

    ``measure(seed, quick) -> Measurement`` does the work; ``quick`` selects the small configuration
    (≤ 3 s on two loaded cores; the test suite runs it). Every criterion tests the notes' sentence as
    written, so any verdict other than ``reproduced`` disagrees with the notes (``agrees_with_notes``).
    """

    name: str
    topic: str
    section: str
    claim_zh: str
    claim_en: str
    setup: str
    criterion: Criterion
    measure: Callable[[int, bool], Measurement]
    timed: bool = False
    requires: str | None = None  # a message when a capability is missing (the experiment then cannot run)

    def available(self) -> bool:
        return self.requires is None

    def run(self, out: str | Path, seed: int = 0, quick: bool = False) -> ExperimentResult:
        """Measure, write ``out/result.json`` and ``out/<figure>.png``; return the result.

        ``out`` is this experiment's own folder (created if needed); existing files of the same names are
        replaced atomically. The seed fixes every random draw (NumPy generators and torch, under a forked
        torch RNG so the caller's global state is untouched).
        """
        seed = check_int(seed, "seed", low=0, high=2**32 - 1)
        quick = check_bool(quick, "quick")
        if self.requires is not None:
            raise ValueError(f"experiment {self.name!r} cannot run: {self.requires}")
        out = Path(out)
        measured = _measure_isolated(self.measure, seed, quick)
        numbers = {str(k): _clean_number(v) for k, v in measured.numbers.items()}
        missing = [c.number for c in self.criterion.conditions if c.number not in numbers]
        if missing:  # an internal invariant: the criterion reads numbers the measurement must produce
            raise RuntimeError(f"experiment {self.name!r} did not measure {missing}")
        verdict = verdict_of(self.criterion, numbers)
        figures = []
        for fig_name, fig in measured.figures.items():
            filename = f"{fig_name}.png"
            atomic_savefig(fig, out / filename, dpi=90, metadata={"Software": None})
            figures.append(filename)
        result = ExperimentResult(
            name=self.name, topic=self.topic, section=self.section, claim_zh=self.claim_zh,
            claim_en=self.claim_en, setup=self.setup, criterion=self.criterion.text(),
            conditions=[
                {"number": c.number, "op": c.op, "threshold": c.threshold, "meaning": c.meaning,
                 "holds": c.holds(numbers)}
                for c in self.criterion.conditions
            ],
            verdict=verdict, notes_agree=verdict == "reproduced", numbers=numbers, seed=seed,
            mode="quick" if quick else "full", figures=figures,
        )
        atomic_write_json(out / "result.json", result.to_json())
        return result

    __call__ = run


def _measure_isolated(measure: Callable[[int, bool], Measurement], seed: int, quick: bool) -> Measurement:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        threads = torch.get_num_threads()
        try:
            return measure(seed, quick)
        finally:
            torch.set_num_threads(threads)
