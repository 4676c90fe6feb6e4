"""Detection evaluation: predict a split, write COCO results with the input's ids, score them with
:mod:`dlprimer.metrics.coco` (equal to pycocotools' ``COCOeval``).

``predict_split`` runs the model (eval mode) over a letterboxed split and returns COCO result records in the
original images' pixels and ids (:func:`.data.to_coco_results`), plus the per-image predictions in network
pixels and the counts ``detect compare`` reports (candidates per image before NMS, decode + NMS seconds).
``evaluate_records`` runs the COCO evaluation with ``max_dets = (1, 10, max_dets)``.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from dlprimer.augment.collate import detection_collate
from dlprimer.metrics.coco import COCOEvalResult, evaluate
from dlprimer.train.detection.data import DetectionData, to_coco_results, to_float

__all__ = ["evaluate_records", "predict_split"]


@torch.no_grad()
def predict_split(
    model: Any, data: DetectionData, split: str, *, batch_size: int = 32, score_threshold: float = 0.001,
    nms: str = "hard", iou_threshold: float = 0.6, max_dets: int = 100, device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """``{"records": [...], "candidates_per_image", "decode_nms_s_per_image", "forward_s_per_image"}``."""
    if split not in data.splits:
        raise ValueError(f"--split {split!r} is not available; the data has {', '.join(sorted(data.splits))}")
    dataset = data.splits[split]
    model.eval()
    records: list[dict[str, Any]] = []
    candidates, decode_s, total_s, n = 0, 0.0, 0.0, 0
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        images, _ = detection_collate(items)
        t0 = time.perf_counter()
        preds = model.predict(to_float(images).to(device), score_threshold=score_threshold, nms=nms,
                              iou_threshold=iou_threshold, max_dets=max_dets)
        total_s += time.perf_counter() - t0
        candidates += sum(model.last_candidates)
        decode_s += model.last_decode_s or 0.0
        n += len(items)
        for pred, item in zip(preds, items, strict=True):
            records.extend(to_coco_results(pred, item, data))
    has_decode = getattr(model, "last_decode_s", None) is not None
    return {
        "records": records,
        "candidates_per_image": candidates / max(n, 1),
        "decode_nms_s_per_image": decode_s / max(n, 1) if has_decode else None,
        "predict_s_per_image": total_s / max(n, 1),
    }


def evaluate_records(coco_gt: dict[str, Any], records: list[dict[str, Any]], max_dets: int = 100) -> COCOEvalResult:
    """COCO bbox evaluation of ``records`` against ``coco_gt`` (max detections ``1, 10, max_dets``)."""
    caps = tuple(sorted({1, 10, int(max_dets)}))
    return evaluate(coco_gt, records, max_dets=caps)
