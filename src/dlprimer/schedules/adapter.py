"""Drive a torch optimizer with a pure schedule (imports nothing from torch itself).

Order of calls (as ``torch.optim.lr_scheduler``): build the adapter before the first batch (it sets
``lr = s(0)``), call :meth:`ScheduleAdapter.step` after every ``optimizer.step()``.
"""

from __future__ import annotations

from typing import Any

from dlprimer.schedules.closed_forms import Schedule, check_step

__all__ = ["ScheduleAdapter"]


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
        self.last_step = check_step(step)
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
        self.last_step = check_step(int(state["last_step"]))
        self._apply()
