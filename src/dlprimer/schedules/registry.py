"""Schedules by name: :data:`SCHEDULES` (a :class:`dlprimer._registry.Registry`) and :func:`build_schedule`.

Each builder takes ``(base_lr, total_steps, **overrides)`` and spreads its decay over the run; the CLI's
``schedules list`` prints ``SCHEDULES.names()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlprimer._checks import check_float, check_int
from dlprimer._registry import Registry
from dlprimer.schedules.closed_forms import (
    Constant,
    CosineDecay,
    Cyclic,
    ExponentialDecay,
    MultiStepDecay,
    NaturalExpDecay,
    OneCycle,
    PolynomialDecay,
    Schedule,
    StepDecay,
)
from dlprimer.schedules.warmup import Warmup

__all__ = ["SCHEDULES", "build_schedule", "list_schedules"]

_DEFAULTS: dict[str, Callable[..., Schedule]] = {
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


#: name → ``builder(base_lr, total_steps, **overrides) -> Schedule``
SCHEDULES: Registry[Callable[..., Schedule]] = Registry("schedule")
for _name, _builder in _DEFAULTS.items():
    SCHEDULES.add(_name, _builder)


def list_schedules() -> list[str]:
    """Names accepted by :func:`build_schedule` (``SCHEDULES.names()``)."""
    return SCHEDULES.names()


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
    builder = SCHEDULES.get(name)
    base_lr = check_float(base_lr, "base_lr", low=0.0, low_open=True)
    total_steps = check_int(total_steps, "total_steps", low=1)
    warmup_steps = check_int(warmup_steps, "warmup_steps", low=0)
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps ({warmup_steps}) must be smaller than total_steps ({total_steps})")
    try:
        main = builder(base_lr, total_steps - warmup_steps, **kwargs)
    except TypeError as exc:
        raise ValueError(f"bad options for schedule {name!r}: {exc}") from None
    if warmup_steps == 0:
        return main
    return Warmup(main, warmup_steps, start_factor=warmup_start_factor, mode=warmup_mode)
