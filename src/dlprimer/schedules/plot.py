"""Plot named schedules (lr against optimizer step) into an image file (matplotlib, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence

from dlprimer.schedules.registry import build_schedule

__all__ = ["plot_schedules"]


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
