"""Detection training: ``fit_detection(DetectConfig)``, ``resume_detection``, evaluation with COCO mAP, EMA.

See :mod:`.loop` for the run, step by step; :mod:`.data` for the data pipeline (scenes or a COCO folder,
letterbox, augmentation); :mod:`.evaluate` for predictions in COCO results format; :mod:`.ema` for the EMA.
"""

from dlprimer.train.detection.config import DEFAULT_MODEL, DetectConfig
from dlprimer.train.detection.loop import DetectResult, fit_detection, load_detection_run, resume_detection, write_eval

__all__ = ["DEFAULT_MODEL", "DetectConfig", "DetectResult", "fit_detection", "load_detection_run",
           "resume_detection", "write_eval"]
