"""The closed-form schedules: ``lr(t)`` as a pure function of the optimizer step ``t``.

Formulas and sources: see :mod:`dlprimer.schedules`. Every constructor validates its arguments with
:mod:`dlprimer._checks` (Python and NumPy scalars accepted, stored as plain ``float``/``int``; ``TypeError``
for a wrong type, ``ValueError`` for a wrong value).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Protocol

from dlprimer._checks import check_bool, check_choice, check_float, check_int, check_type

__all__ = [
    "Constant",
    "CosineDecay",
    "Cyclic",
    "ExponentialDecay",
    "MultiStepDecay",
    "NaturalExpDecay",
    "OneCycle",
    "PolynomialDecay",
    "Schedule",
    "StepDecay",
    "check_step",
]


class Schedule(Protocol):
    """A learning-rate schedule: ``base_lr`` and a pure ``__call__(step) -> lr``."""

    base_lr: float

    def __call__(self, step: int) -> float: ...


def check_step(step: object) -> int:
    """A non-negative optimizer-step index (Python or NumPy int)."""
    return check_int(step, "step", low=0)


def _positive(obj: object, name: str) -> None:
    object.__setattr__(obj, name, check_float(getattr(obj, name), name, low=0.0, low_open=True))


def _non_negative(obj: object, name: str) -> None:
    object.__setattr__(obj, name, check_float(getattr(obj, name), name, low=0.0))


def _positive_int(obj: object, name: str) -> None:
    object.__setattr__(obj, name, check_int(getattr(obj, name), name, low=1))


@dataclass(frozen=True)
class Constant:
    """``lr(t) = base_lr``."""

    base_lr: float

    def __post_init__(self) -> None:
        _positive(self, "base_lr")

    def __call__(self, step: int) -> float:
        check_step(step)
        return float(self.base_lr)


@dataclass(frozen=True)
class StepDecay:
    """分段常数衰减 with equal pieces: ``lr(t) = base_lr · gamma^⌊t / step_size⌋`` (torch ``StepLR``)."""

    base_lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive_int(self, "step_size")
        _positive(self, "gamma")

    def __call__(self, step: int) -> float:
        return self.base_lr * self.gamma ** (check_step(step) // self.step_size)


@dataclass(frozen=True)
class MultiStepDecay:
    """分段常数衰减 at given steps: ``lr(t) = base_lr · gamma^#{m ∈ milestones : m ≤ t}`` (``MultiStepLR``)."""

    base_lr: float
    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive(self, "gamma")
        check_type(self.milestones, "milestones", (tuple, list), "a tuple of ints")
        ms = tuple(check_int(m, f"milestones[{i}]", low=0) for i, m in enumerate(self.milestones))
        if list(ms) != sorted(ms):
            raise ValueError(f"milestones must be sorted increasingly, got {self.milestones!r}")
        object.__setattr__(self, "milestones", ms)

    def __call__(self, step: int) -> float:
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, check_step(step))


@dataclass(frozen=True)
class ExponentialDecay:
    """指数衰减: ``lr(t) = base_lr · gamma^(t / decay_steps)``; ``⌊t / decay_steps⌋`` if ``staircase``.

    With ``decay_steps=1`` this is torch's ``ExponentialLR(gamma)``.
    """

    base_lr: float
    gamma: float
    decay_steps: int = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive(self, "gamma")
        _positive_int(self, "decay_steps")
        object.__setattr__(self, "staircase", check_bool(self.staircase, "staircase"))

    def __call__(self, step: int) -> float:
        t = check_step(step)
        p = t // self.decay_steps if self.staircase else t / self.decay_steps
        return self.base_lr * self.gamma**p


@dataclass(frozen=True)
class NaturalExpDecay:
    """自然指数衰减: ``lr(t) = base_lr · exp(−k · t / decay_steps)`` (``⌊t / decay_steps⌋`` if ``staircase``).

    It is :class:`ExponentialDecay` with ``gamma = e^(−k)``; it decays faster than a ``gamma`` close to 1.
    """

    base_lr: float
    k: float
    decay_steps: int = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _non_negative(self, "k")
        _positive_int(self, "decay_steps")
        object.__setattr__(self, "staircase", check_bool(self.staircase, "staircase"))

    def __call__(self, step: int) -> float:
        t = check_step(step)
        p = t // self.decay_steps if self.staircase else t / self.decay_steps
        return self.base_lr * math.exp(-self.k * p)


@dataclass(frozen=True)
class PolynomialDecay:
    """多项式衰减: ``lr(t) = (base_lr − end_lr) · (1 − min(t, T) / T)^power + end_lr``.

    ``end_lr`` is reached at ``t = T`` and kept after. With ``end_lr = 0`` this is torch's
    ``PolynomialLR(total_iters=T, power=power)``; ``power=1`` is a linear decay.
    """

    base_lr: float
    total_steps: int
    power: float = 1.0
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive_int(self, "total_steps")
        _positive(self, "power")
        _non_negative(self, "end_lr")

    def __call__(self, step: int) -> float:
        t = min(check_step(step), self.total_steps)
        return (self.base_lr - self.end_lr) * (1.0 - t / self.total_steps) ** self.power + self.end_lr


@dataclass(frozen=True)
class CosineDecay:
    """余弦衰减 with a floor: ``lr(t) = min_lr + (base_lr − min_lr) · (1 + cos(π · min(t, T) / T)) / 2``.

    Equals torch's ``CosineAnnealingLR(T_max=T, eta_min=min_lr)`` for ``t ≤ T``; after ``T`` dlprimer stays at
    ``min_lr`` (torch's recursion would climb back up: use :class:`Cyclic` for restarts).
    """

    base_lr: float
    total_steps: int
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive_int(self, "total_steps")
        _non_negative(self, "min_lr")

    def __call__(self, step: int) -> float:
        t = min(check_step(step), self.total_steps)
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * t / self.total_steps)) / 2


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True)
class Cyclic:
    """Cyclical learning rate (Smith 2017), torch ``CyclicLR``'s closed form.

    A cycle has ``step_size_up + step_size_down`` steps; with ``cycle = ⌊1 + t / size⌋`` and
    ``x = 1 + t / size − cycle``, the height is ``x / r`` while ``x ≤ r = up / size``, else ``(x − 1)/(r − 1)``;
    ``lr = base_lr + (max_lr − base_lr) · height · scale``, with ``scale`` = 1 (``triangular``),
    ``1 / 2^(cycle − 1)`` (``triangular2``) or ``gamma^t`` (``exp_range``).
    """

    base_lr: float
    max_lr: float
    step_size_up: int
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive(self, "max_lr")
        _positive_int(self, "step_size_up")
        if self.step_size_down is not None:
            _positive_int(self, "step_size_down")
        check_choice(self.mode, "mode", _CYCLIC_MODES)
        _positive(self, "gamma")

    def __call__(self, step: int) -> float:
        t = check_step(step)
        up = float(self.step_size_up)
        down = float(self.step_size_down if self.step_size_down is not None else self.step_size_up)
        size = up + down
        ratio = up / size
        cycle = math.floor(1 + t / size)
        x = 1.0 + t / size - cycle
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = self.gamma**t
        return self.base_lr + (self.max_lr - self.base_lr) * height * scale


@dataclass(frozen=True)
class OneCycle:
    """One-cycle policy (Smith 2018), torch ``OneCycleLR``'s closed form (``three_phase=False``).

    ``base_lr`` is the peak ``max_lr``. The rate starts at ``max_lr / div_factor``, anneals to ``max_lr`` by
    step ``pct_start · T − 1``, then to ``max_lr / (div_factor · final_div_factor)`` at step ``T − 1``;
    ``anneal="cos"`` uses ``end + (start − end)(1 + cos(π · pct)) / 2``, ``"linear"`` a straight line.
    Steps past ``T − 1`` keep the final rate (torch raises instead).
    """

    base_lr: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: str = "cos"

    def __post_init__(self) -> None:
        _positive(self, "base_lr")
        _positive_int(self, "total_steps")
        object.__setattr__(self, "pct_start", check_float(self.pct_start, "pct_start", low=0.0, high=1.0))
        _positive(self, "div_factor")
        _positive(self, "final_div_factor")
        check_choice(self.anneal, "anneal", ("cos", "linear"))

    def _interp(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def __call__(self, step: int) -> float:
        t = min(check_step(step), self.total_steps - 1)
        initial = self.base_lr / self.div_factor
        final = initial / self.final_div_factor
        peak_step = float(self.pct_start * self.total_steps) - 1
        if t <= peak_step:
            return self._interp(initial, self.base_lr, t / peak_step)
        return self._interp(self.base_lr, final, (t - peak_step) / (self.total_steps - 1 - peak_step))
