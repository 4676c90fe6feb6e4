"""Detection training on the one engine: ``fit_detection(DetectConfig)``, ``resume_detection``, COCO mAP.

See :mod:`.task` for what detection supplies to :mod:`dlprimer.train.engine` (data, detector, loss, evaluation);
:mod:`.data` for the data pipeline (scenes or a COCO folder, letterbox, augmentation); :mod:`.evaluate` for
predictions in COCO results format; :mod:`.run` for the entry points.
"""

from dlprimer.train.detection.config import DEFAULT_MODEL, MODEL_DEFAULTS, DetectConfig
from dlprimer.train.detection.evaluate import write_eval
from dlprimer.train.detection.run import DetectResult, fit_detection, load_detection_run, resume_detection

__all__ = ["DEFAULT_MODEL", "MODEL_DEFAULTS", "DetectConfig", "DetectResult", "fit_detection", "load_detection_run",
           "resume_detection", "write_eval"]
