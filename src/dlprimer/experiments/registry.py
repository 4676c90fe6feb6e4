"""The experiment registry: ``EXPERIMENTS`` (a :class:`dlprimer._registry.Registry`) and ``register``."""

from __future__ import annotations

from dlprimer._registry import Registry
from dlprimer.experiments.base import Experiment

EXPERIMENTS: Registry[Experiment] = Registry("experiment")

__all__ = ["EXPERIMENTS", "get_experiment", "list_experiments", "register"]


def register(experiment: Experiment) -> Experiment:
    """Add ``experiment`` under its name (lower-case, unique) and return it."""
    return EXPERIMENTS.add(experiment.name, experiment)


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; ``ValueError`` listing every known name otherwise."""
    return EXPERIMENTS.get(name)


def list_experiments() -> list[str]:
    """Registered experiment names, sorted."""
    return EXPERIMENTS.names()
