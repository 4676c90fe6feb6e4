"""Learning-rate schedules (the notes' 学习率衰减方法, warmup and cyclical rates) as pure functions.

Every schedule is a frozen dataclass ``s`` whose call ``s(step) -> lr`` is a pure function of the
optimizer-step index ``step = 0, 1, 2, …`` (no hidden state): the *k*-th optimizer update uses ``s(k)``.

Who calls what and when
-----------------------
dlprimer steps schedules **per batch** (per optimizer update). The engine builds the schedule with
``total_steps = epochs × batches_per_epoch``, wraps the optimizer in :class:`ScheduleAdapter` (which
immediately sets ``lr = s(0)``, so **the very first batch sees** ``s(0)``), and after every
``optimizer.step()`` calls ``adapter.step()``, which sets ``lr = s(k + 1)`` for the next batch. To step
per epoch instead, pass epochs as steps (``total_steps = epochs``) and call ``adapter.step()`` once an
epoch. This is the order of ``torch.optim.lr_scheduler``: construct before the first batch, step after
``optimizer.step()``.

Warmup is composed, not built in: ``Warmup(main, warmup_steps=W)`` runs ``W`` warmup steps, then ``main``
*from its own step 0* (``main`` is shifted by ``W``; give it ``total_steps − W``). During warmup the rate
rises from ``start_factor · main(0)`` towards ``main(0)``: linearly,
``main(0) · (f + (1 − f) · t / W)``, as ``torch.optim.lr_scheduler.SequentialLR([LinearLR(f, total_iters=W),
main], milestones=[W])``; or exponentially, ``main(0) · f^(1 − t/W)``.

The closed forms (``η₀`` = ``base_lr``, ``t`` = step, ``T`` = ``total_steps``):

=================  ===========================================================  ==========================
schedule           lr(t)                                                        torch equivalent
=================  ===========================================================  ==========================
constant           η₀                                                           ConstantLR(factor=1)
step (分段常数)     η₀ · γ^⌊t / s⌋                                               StepLR
multistep          η₀ · γ^(number of milestones ≤ t)                            MultiStepLR
exponential (指数)  η₀ · γ^(t / d)  (⌊t / d⌋ with staircase)                      ExponentialLR (d = 1)
natural_exp        η₀ · e^(−k · t / d)  (⌊t / d⌋ with staircase)                 —
polynomial (多项式) (η₀ − η_end) · (1 − min(t, T) / T)^p + η_end                 PolynomialLR (η_end = 0)
cosine (余弦)       η_min + (η₀ − η_min) · (1 + cos(π · min(t, T) / T)) / 2      CosineAnnealingLR (t ≤ T)
cyclic             triangular / triangular2 / exp_range (Smith, 2017)           CyclicLR
onecycle           cos or linear, initial η_max/div → η_max → initial/final_div  OneCycleLR
=================  ===========================================================  ==========================

Sources: the notes (学习率衰减方法: 分段常数/指数/自然指数/多项式/余弦衰减), TensorFlow's
``tf.compat.v1.train.*_decay`` (the staircase and ``decay_steps`` conventions), L. N. Smith, "Cyclical
Learning Rates for Training Neural Networks" (2017) and "Super-Convergence" (2018) for one-cycle.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "MultiStepDecay",
    "ExponentialDecay",
    "NaturalExpDecay",
    "PolynomialDecay",
    "CosineDecay",
    "Cyclic",
    "OneCycle",
    "Warmup",
    "ScheduleAdapter",
    "build_schedule",
    "list_schedules",
    "plot_schedules",
]


class Schedule(Protocol):
    """A learning-rate schedule: ``base_lr`` and a pure ``__call__(step) -> lr``."""

    base_lr: float

    def __call__(self, step: int) -> float: ...


def _check_step(step: int) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    return step


def _positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _non_negative(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")


def _positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class Constant:
    """``lr(t) = base_lr``."""

    base_lr: float

    def __post_init__(self) -> None:
        _positive("base_lr", self.base_lr)

    def __call__(self, step: int) -> float:
        _check_step(step)
        return float(self.base_lr)


@dataclass(frozen=True)
class StepDecay:
    """分段常数衰减 with equal pieces: ``lr(t) = base_lr · gamma^⌊t / step_size⌋`` (torch ``StepLR``)."""

    base_lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive("base_lr", self.base_lr)
        _positive_int("step_size", self.step_size)
        _positive("gamma", self.gamma)

    def __call__(self, step: int) -> float:
        return self.base_lr * self.gamma ** (_check_step(step) // self.step_size)


@dataclass(frozen=True)
class MultiStepDecay:
    """分段常数衰减 at given steps: ``lr(t) = base_lr · gamma^#{m ∈ milestones : m ≤ t}`` (``MultiStepLR``)."""

    base_lr: float
    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive("base_lr", self.base_lr)
        _positive("gamma", self.gamma)
        ms = tuple(self.milestones)
        if any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in ms):
            raise ValueError(f"milestones must be non-negative ints, got {self.milestones!r}")
        if list(ms) != sorted(ms):
            raise ValueError(f"milestones must be sorted increasingly, got {self.milestones!r}")
        object.__setattr__(self, "milestones", ms)

    def __call__(self, step: int) -> float:
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, _check_step(step))


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
        _positive("base_lr", self.base_lr)
        _positive("gamma", self.gamma)
        _positive_int("decay_steps", self.decay_steps)

    def __call__(self, step: int) -> float:
        t = _check_step(step)
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
        _positive("base_lr", self.base_lr)
        _non_negative("k", self.k)
        _positive_int("decay_steps", self.decay_steps)

    def __call__(self, step: int) -> float:
        t = _check_step(step)
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
        _positive("base_lr", self.base_lr)
        _positive_int("total_steps", self.total_steps)
        _positive("power", self.power)
        _non_negative("end_lr", self.end_lr)

    def __call__(self, step: int) -> float:
        t = min(_check_step(step), self.total_steps)
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
        _positive("base_lr", self.base_lr)
        _positive_int("total_steps", self.total_steps)
        _non_negative("min_lr", self.min_lr)

    def __call__(self, step: int) -> float:
        t = min(_check_step(step), self.total_steps)
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
        _positive("base_lr", self.base_lr)
        _positive("max_lr", self.max_lr)
        _positive_int("step_size_up", self.step_size_up)
        if self.step_size_down is not None:
            _positive_int("step_size_down", self.step_size_down)
        if self.mode not in _CYCLIC_MODES:
            raise ValueError(f"mode must be one of {_CYCLIC_MODES}, got {self.mode!r}")
        _positive("gamma", self.gamma)

    def __call__(self, step: int) -> float:
        t = _check_step(step)
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
        _positive("base_lr", self.base_lr)
        _positive_int("total_steps", self.total_steps)
        if not 0.0 <= self.pct_start <= 1.0:
            raise ValueError(f"pct_start must be in [0, 1], got {self.pct_start!r}")
        _positive("div_factor", self.div_factor)
        _positive("final_div_factor", self.final_div_factor)
        if self.anneal not in ("cos", "linear"):
            raise ValueError(f"anneal must be 'cos' or 'linear', got {self.anneal!r}")

    def _interp(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def __call__(self, step: int) -> float:
        t = min(_check_step(step), self.total_steps - 1)
        initial = self.base_lr / self.div_factor
        final = initial / self.final_div_factor
        peak_step = float(self.pct_start * self.total_steps) - 1
        if t <= peak_step:
            return self._interp(initial, self.base_lr, t / peak_step)
        return self._interp(self.base_lr, final, (t - peak_step) / (self.total_steps - 1 - peak_step))


@dataclass(frozen=True)
class Warmup:
    """Warm up for ``warmup_steps``, then run ``schedule`` from its step 0 (see the module docstring).

    ``mode="linear"``: ``lr(t) = schedule(0) · (start_factor + (1 − start_factor) · t / W)`` for ``t < W``;
    ``mode="exponential"``: ``lr(t) = schedule(0) · start_factor^(1 − t / W)``; ``lr(t) = schedule(t − W)``
    for ``t ≥ W``. The first batch sees ``start_factor · schedule(0)``.
    """

    schedule: Any
    warmup_steps: int
    start_factor: float = 0.1
    mode: str = "linear"
    base_lr: float = field(init=False)

    def __post_init__(self) -> None:
        if not callable(self.schedule) or not hasattr(self.schedule, "base_lr"):
            raise TypeError(f"schedule must be a schedule object, got {type(self.schedule).__name__}")
        _positive_int("warmup_steps", self.warmup_steps)
        if not 0.0 < self.start_factor <= 1.0:
            raise ValueError(f"start_factor must be in (0, 1], got {self.start_factor!r}")
        if self.mode not in ("linear", "exponential"):
            raise ValueError(f"mode must be 'linear' or 'exponential', got {self.mode!r}")
        object.__setattr__(self, "base_lr", float(self.schedule.base_lr))

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        if t >= self.warmup_steps:
            return self.schedule(t - self.warmup_steps)
        frac = t / self.warmup_steps
        target = self.schedule(0)
        if self.mode == "linear":
            return target * (self.start_factor + (1.0 - self.start_factor) * frac)
        return target * self.start_factor ** (1.0 - frac)


# --------------------------------------------------------------------------------------------- registry
Factory = Callable[..., Any]
_REGISTRY: dict[str, Factory] = {
    "constant": lambda base_lr, total_steps, **kw: Constant(base_lr, **kw),
    "step": lambda base_lr, total_steps, **kw: StepDecay(
        base_lr, **{"step_size": max(1, total_steps // 3), **kw}
    ),
    "multistep": lambda base_lr, total_steps, **kw: MultiStepDecay(
        base_lr, **{"milestones": (int(total_steps * 0.5), int(total_steps * 0.75)), **kw}
    ),
    "exponential": lambda base_lr, total_steps, **kw: ExponentialDecay(
        base_lr, **{"gamma": 0.01 ** (1.0 / max(1, total_steps)), **kw}
    ),
    "natural_exp": lambda base_lr, total_steps, **kw: NaturalExpDecay(
        base_lr, **{"k": 4.0 / max(1, total_steps), **kw}
    ),
    "polynomial": lambda base_lr, total_steps, **kw: PolynomialDecay(
        base_lr, total_steps, **{"power": 2.0, **kw}
    ),
    "cosine": lambda base_lr, total_steps, **kw: CosineDecay(base_lr, total_steps, **kw),
    "cyclic": lambda base_lr, total_steps, **kw: Cyclic(
        **{"base_lr": base_lr / 10, "max_lr": base_lr, "step_size_up": max(1, total_steps // 8), **kw}
    ),
    "cyclic_triangular2": lambda base_lr, total_steps, **kw: Cyclic(
        **{"base_lr": base_lr / 10, "max_lr": base_lr, "step_size_up": max(1, total_steps // 8),
           "mode": "triangular2", **kw}
    ),
    "cyclic_exp_range": lambda base_lr, total_steps, **kw: Cyclic(
        **{"base_lr": base_lr / 10, "max_lr": base_lr, "step_size_up": max(1, total_steps // 8),
           "mode": "exp_range", "gamma": 0.5 ** (1.0 / max(1, total_steps)), **kw}
    ),
    "onecycle": lambda base_lr, total_steps, **kw: OneCycle(base_lr, max(2, total_steps), **kw),
}


def list_schedules() -> list[str]:
    """Names accepted by :func:`build_schedule`."""
    return sorted(_REGISTRY)


def build_schedule(
    name: str,
    base_lr: float,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_mode: str = "linear",
    warmup_start_factor: float = 0.1,
    **kwargs: Any,
) -> Schedule:
    """Build the schedule registered as ``name`` for a run of ``total_steps`` optimizer steps.

    The main schedule covers ``total_steps − warmup_steps`` steps; with ``warmup_steps > 0`` it is wrapped
    in :class:`Warmup`. ``kwargs`` override the defaults of the named schedule (e.g. ``gamma``,
    ``min_lr``). The defaults spread each schedule's decay over the run (``step`` decays ×0.1 every third,
    ``exponential`` and ``natural_exp`` end near 1% and 2% of ``base_lr``, ``cyclic`` runs four cycles).
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown schedule {name!r}; known schedules: {', '.join(list_schedules())}")
    _positive("base_lr", base_lr)
    _positive_int("total_steps", total_steps)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be a non-negative int, got {warmup_steps!r}")
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps ({warmup_steps}) must be smaller than total_steps ({total_steps})")
    try:
        main = _REGISTRY[name](float(base_lr), total_steps - warmup_steps, **kwargs)
    except TypeError as exc:
        raise ValueError(f"bad options for schedule {name!r}: {exc}") from None
    if warmup_steps == 0:
        return main
    return Warmup(main, warmup_steps, start_factor=warmup_start_factor, mode=warmup_mode)


# ---------------------------------------------------------------------------------------- torch adapter
class ScheduleAdapter:
    """Drive any ``torch.optim.Optimizer`` with a pure schedule.

    Construction sets every param group's ``lr`` to ``schedule(0) · initial_lr / schedule.base_lr`` (each
    group keeps its ratio to the schedule's base rate, so per-group rates for fine-tuning survive);
    :meth:`step` (call it after ``optimizer.step()``) advances to the next step. ``state_dict`` holds only
    the step counter: the rate itself is recomputed, never stored.
    """

    def __init__(self, optimizer: Any, schedule: Schedule, step: int = 0) -> None:
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"optimizer must be a torch optimizer, got {type(optimizer).__name__}")
        if not callable(schedule) or not hasattr(schedule, "base_lr"):
            raise TypeError(f"schedule must be a schedule object, got {type(schedule).__name__}")
        self.optimizer = optimizer
        self.schedule = schedule
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.last_step = _check_step(step)
        self._apply()

    def _apply(self) -> None:
        lr = self.schedule(self.last_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["initial_lr"] / self.schedule.base_lr

    def step(self) -> None:
        """Advance one optimizer step and set the rates the next batch will use."""
        self.last_step += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The current rate of each param group."""
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, int]:
        return {"last_step": self.last_step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.last_step = _check_step(int(state["last_step"]))
        self._apply()


# ----------------------------------------------------------------------------------------------- plots
def plot_schedules(
    names: Sequence[str],
    out: str,
    base_lr: float = 0.1,
    total_steps: int = 1000,
    warmup_steps: int = 0,
    log_scale: bool = False,
) -> None:
    """Plot the named schedules (``lr`` against step) into the image file ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not names:
        raise ValueError("names must name at least one schedule")
    schedules = [build_schedule(n, base_lr, total_steps, warmup_steps=warmup_steps) for n in names]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = range(total_steps)
    for name, sched in zip(names, schedules, strict=True):
        ax.plot(list(steps), [sched(t) for t in steps], label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    title = f"learning-rate schedules (base lr {base_lr:g}, {total_steps} steps"
    ax.set_title(title + (f", {warmup_steps} warmup)" if warmup_steps else ")"))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    from dlprimer._io import atomic_savefig

    atomic_savefig(fig, out)
    plt.close(fig)
