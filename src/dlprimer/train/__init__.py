"""The training engine: ``fit(TrainConfig) -> RunResult``, ``resume``, ``evaluate_run``, ``predict_images``."""

from dlprimer.train.config import TrainConfig
from dlprimer.train.engine import RunResult, evaluate_run, fit, predict_images, resume
from dlprimer.train.seed import seed_everything

__all__ = ["RunResult", "TrainConfig", "evaluate_run", "fit", "predict_images", "resume", "seed_everything"]
