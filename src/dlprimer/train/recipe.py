"""The training recipe built once for both engines: optimizer, weight initialization, schedule + warmup.

The torch engine and the NumPy (scratch) engine get their optimizer from the same :data:`OPTIMIZERS`
registry — ``dlprimer.scratch.optim`` mirrors ``torch.optim``'s class names and update rules, so one entry
names the class and maps the config to its keyword arguments for either backend — and their learning-rate
schedule from :func:`build_run_schedule` (the ``dlprimer.schedules`` registry with warmup in epochs turned
into steps). Initialization uses the scheme names of :mod:`dlprimer.nn.init` for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlprimer._registry import Registry

if TYPE_CHECKING:
    from dlprimer.schedules import Schedule
    from dlprimer.train.config import TrainConfig


@dataclass(frozen=True)
class OptimizerSpec:
    """``class_name`` in ``torch.optim`` / ``dlprimer.scratch.optim`` and the config → kwargs mapping."""

    class_name: str
    kwargs: Callable[[TrainConfig], dict[str, Any]]
    help: str = ""


OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")
OPTIMIZERS.add("sgd", OptimizerSpec(
    "SGD",
    lambda c: {"lr": c.lr, "momentum": c.momentum, "nesterov": bool(c.nesterov and c.momentum > 0),
               "weight_decay": c.weight_decay},
    "SGD with momentum (Nesterov optional) and L2 weight decay",
))
OPTIMIZERS.add("adam", OptimizerSpec("Adam", lambda c: {"lr": c.lr, "weight_decay": c.weight_decay},
                                     "Adam with L2 weight decay added to the gradient"))
OPTIMIZERS.add("adamw", OptimizerSpec("AdamW", lambda c: {"lr": c.lr, "weight_decay": c.weight_decay},
                                      "AdamW (decoupled weight decay)"))


def build_optimizer(config: TrainConfig, params: Iterable[Any], backend: str = "torch") -> Any:
    """The optimizer named by ``config.optimizer`` over ``params`` (tensors or param-group dicts).

    ``backend="torch"`` builds a ``torch.optim`` optimizer, ``"scratch"`` the ``dlprimer.scratch.optim`` one.
    """
    spec = OPTIMIZERS.get(config.optimizer)
    if backend == "torch":
        import torch.optim as module
    elif backend == "scratch":
        from dlprimer.scratch import optim as module  # type: ignore[no-redef]
    else:
        raise ValueError(f"backend must be 'torch' or 'scratch', got {backend!r}")
    return getattr(module, spec.class_name)(params, **spec.kwargs(config))


def build_run_schedule(config: TrainConfig, steps_per_epoch: int) -> Schedule:
    """``config.schedule`` over ``epochs · steps_per_epoch`` optimizer steps after ``warmup_epochs`` of warmup.

    The warmup stops one step short of the end when it would cover the whole run (the schedule still starts).
    """
    from dlprimer import schedules

    total = config.epochs * steps_per_epoch
    warmup = min(config.warmup_epochs * steps_per_epoch, total - 1)
    return schedules.build_schedule(config.schedule, config.lr, total, warmup_steps=warmup)


def init_scratch_weights(model: Any, scheme: str, generator: Any) -> None:
    """Initialize a ``dlprimer.scratch`` model like :func:`dlprimer.nn.init.init_weights` does a torch model.

    Weights (parameters named ``*weight``) follow ``scheme`` (Kaiming for ReLU, Xavier with gain 1), biases are
    zeroed; ``"default"`` keeps the scratch layers' own initialization.
    """
    from dlprimer.nn.init import list_inits
    from dlprimer.scratch import init as sinit

    fills: dict[str, Callable[[Any], Any]] = {
        "xavier_uniform": lambda w: sinit.xavier_uniform_(w, gain=1.0, generator=generator),
        "xavier_normal": lambda w: sinit.xavier_normal_(w, gain=1.0, generator=generator),
        "kaiming_uniform": lambda w: sinit.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu",
                                                            generator=generator),
        "kaiming_normal": lambda w: sinit.kaiming_normal_(w, mode="fan_in", nonlinearity="relu",
                                                          generator=generator),
        "normal": lambda w: sinit.normal_(w, 0.0, 0.01, generator=generator),
        "zeros": sinit.zeros_,
    }
    if scheme not in list_inits():
        raise ValueError(f"unknown init scheme {scheme!r}; known schemes: {', '.join(list_inits())}")
    if scheme == "default":
        return
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            fills[scheme](p)
        else:
            sinit.zeros_(p)
