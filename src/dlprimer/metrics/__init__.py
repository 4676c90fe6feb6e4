"""Metrics in NumPy: classification (confusion matrix, P/R/F1), PR curves, AP rules, a COCO evaluator.

* :mod:`.classification`: confusion matrix, accuracy, per-class and averaged precision/recall/F1
  (the notes' Macro-F1 and scikit-learn's mean-of-F1 as separate names);
* :mod:`.pr_curve`: PR curve from scores and 0/1 labels, best-F1 threshold, F1 vs confidence;
* :mod:`.ap`: AP by every common rule (step, VOC07 11-point, VOC all-point, COCO 101-point, interp101);
* :mod:`.coco`: COCO bbox evaluation equal to pycocotools (``dlprimer.metrics.coco.evaluate``);
* :mod:`.detection_confusion`: detection confusion matrix with a background row and column;
* :mod:`.plots`: PR and F1-vs-confidence figures (matplotlib, imported lazily).
"""

from dlprimer.metrics.ap import AP_METHODS, average_precision
from dlprimer.metrics.classification import (
    AVERAGES,
    PRF,
    accuracy,
    confusion_matrix,
    f1_score,
    per_class_prf,
    precision_recall_f1,
)
from dlprimer.metrics.detection_confusion import detection_confusion_matrix
from dlprimer.metrics.pr_curve import (
    F1Confidence,
    F1Threshold,
    PRCurve,
    best_f1_threshold,
    f1_confidence_curve,
    pr_curve,
)

__all__ = [
    "AP_METHODS",
    "AVERAGES",
    "F1Confidence",
    "F1Threshold",
    "PRCurve",
    "PRF",
    "accuracy",
    "average_precision",
    "best_f1_threshold",
    "confusion_matrix",
    "detection_confusion_matrix",
    "f1_confidence_curve",
    "f1_score",
    "per_class_prf",
    "pr_curve",
    "precision_recall_f1",
]
