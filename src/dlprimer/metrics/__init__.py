"""Metrics in NumPy: classification (confusion matrix, P/R/F1), AP rules, a COCO evaluator."""
