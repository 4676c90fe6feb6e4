"""Warmup composed in front of any schedule (the notes' warmup: a small rate first, then the main schedule).

``Warmup(main, warmup_steps=W)`` runs ``W`` warmup steps, then ``main`` from its own step 0. Linear warmup
equals ``torch.optim.lr_scheduler.SequentialLR([LinearLR(f, total_iters=W), main], milestones=[W])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlprimer._checks import check_choice, check_float, check_int
from dlprimer.schedules.closed_forms import check_step

__all__ = ["WARMUP_MODES", "Warmup"]

WARMUP_MODES = ("linear", "exponential")


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
        object.__setattr__(self, "warmup_steps", check_int(self.warmup_steps, "warmup_steps", low=1))
        start = check_float(self.start_factor, "start_factor", low=0.0, high=1.0, low_open=True)
        object.__setattr__(self, "start_factor", start)
        check_choice(self.mode, "mode", WARMUP_MODES)
        object.__setattr__(self, "base_lr", float(self.schedule.base_lr))

    def __call__(self, step: int) -> float:
        t = check_step(step)
        if t >= self.warmup_steps:
            return self.schedule(t - self.warmup_steps)
        frac = t / self.warmup_steps
        target = self.schedule(0)
        if self.mode == "linear":
            return target * (self.start_factor + (1.0 - self.start_factor) * frac)
        return target * self.start_factor ** (1.0 - frac)
