"""The notes' claims as experiments: a measurement, a figure and a verdict computed by a declared criterion.

One module per topic family registers its experiments on :data:`EXPERIMENTS` (see :mod:`.base` for what an
experiment is and how the verdict is computed, :mod:`.runner` for output folders and :mod:`.report` for the
report). ``dlprimer experiment list|run|report`` is the command line.

>>> from dlprimer.experiments import get_experiment
>>> result = get_experiment("he-is-xavier-times-two").run("runs/doc-experiment", quick=True)  # doctest: +SKIP
>>> result.verdict  # doctest: +SKIP
'not reproduced'
"""

from dlprimer.experiments import (  # noqa: F401  (registration, in the report's order)
    activations,
    architecture,
    detection,
    initialization,
    losses,
    normalization,
    optimization,
    regularization,
)
from dlprimer.experiments.base import (
    VERDICTS,
    Condition,
    Criterion,
    Experiment,
    ExperimentResult,
    Measurement,
    verdict_of,
)
from dlprimer.experiments.registry import EXPERIMENTS, get_experiment, list_experiments, register

__all__ = [
    "EXPERIMENTS", "VERDICTS", "Condition", "Criterion", "Experiment", "ExperimentResult", "Measurement",
    "get_experiment", "list_experiments", "register", "verdict_of",
]
