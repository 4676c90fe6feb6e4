"""Detection evaluation: predict a split, write COCO results with the input's ids, score them with
:mod:`dlprimer.metrics.coco` (equal to pycocotools' ``COCOeval``).

``predict_split`` runs the model (eval mode) over a letterboxed split and returns COCO result records in the
original images' pixels and ids (:func:`.data.to_coco_results`), plus the per-image predictions in network
pixels and the counts ``detect compare`` reports (candidates per image before NMS, decode + NMS seconds).
``evaluate_records`` runs the COCO evaluation with ``max_dets = (1, 10, max_dets)``; ``evaluate_split`` does both
with a run's settings; ``write_eval`` also writes ``RUN_DIR/eval/<split>/`` (``detections.json``, ``stats.json``
and, for ``detect evaluate``, the PR / F1-vs-confidence curves and the detection confusion matrix).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from dlprimer._io import atomic_write_json
from dlprimer.augment.collate import detection_collate
from dlprimer.metrics.coco import COCOEvalResult, evaluate
from dlprimer.train.detection.config import DetectConfig
from dlprimer.train.detection.data import DetectionData, to_coco_results, to_float

__all__ = ["evaluate_records", "evaluate_split", "predict_split", "write_eval", "write_eval_files"]


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


def evaluate_split(model: Any, data: DetectionData, config: DetectConfig, split: str, nms: str | None = None,
                   score_threshold: float | None = None,
                   max_dets: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], COCOEvalResult]:
    """Predict ``split`` with ``model`` and score it: ``(stats, records, result)``. ``stats`` holds the 12 COCO
    numbers (``stats``, ``stats_list``), ``per_class`` AP, the printed ``summary``, the settings used and the
    per-image counts and timings; ``nms`` / ``score_threshold`` / ``max_dets`` default to the run's."""
    nms = config.nms if nms is None else nms
    score_threshold = config.score_threshold if score_threshold is None else score_threshold
    max_dets = config.max_dets if max_dets is None else max_dets
    pred = predict_split(model, data, split, batch_size=config.batch_size, score_threshold=score_threshold, nms=nms,
                         iou_threshold=config.iou_threshold, max_dets=max_dets,
                         device=next(model.parameters()).device)
    result = evaluate_records(data.coco[split], pred["records"], max_dets)
    d = result.to_dict()
    stats = {"split": split, "nms": nms, "score_threshold": score_threshold, "max_dets": max_dets,
             "stats": d["stats"], "stats_list": d["stats_list"], "per_class": d.get("per_class"),
             "summary": result.summary(),
             "candidates_per_image": pred["candidates_per_image"],
             "decode_nms_s_per_image": pred["decode_nms_s_per_image"],
             "predict_s_per_image": pred["predict_s_per_image"]}
    return stats, pred["records"], result


def write_eval_files(folder: Path, stats: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """``FOLDER/detections.json`` (COCO results) and ``FOLDER/stats.json``, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "detections.json", records)
    atomic_write_json(folder / "stats.json", stats)


def write_eval(run_dir: Path, model: Any, data: DetectionData, config: DetectConfig, split: str,
               nms: str | None = None, score_threshold: float | None = None, max_dets: int | None = None,
               plots: bool = False) -> dict[str, Any]:
    """:func:`evaluate_split`, then write ``RUN_DIR/eval/<split>/`` (with ``plots`` also ``curves.png``,
    ``confusion.json`` and ``confusion.png``); return the stats."""
    stats, records, result = evaluate_split(model, data, config, split, nms, score_threshold, max_dets)
    folder = Path(run_dir) / "eval" / split
    write_eval_files(folder, stats, records)
    if plots:
        _write_plots(folder, result, records, data, split)
    return stats


def _write_plots(folder: Path, result: Any, records: list[dict[str, Any]], data: DetectionData, split: str) -> None:
    from dlprimer.metrics.detection_confusion import detection_confusion_matrix
    from dlprimer.metrics.plots import plot_coco_curves
    from dlprimer.train.plots import plot_confusion

    plot_coco_curves(result, folder / "curves.png")
    gt = data.coco[split]
    label = {c: k for k, c in enumerate(data.category_ids)}
    ids = [im["id"] for im in gt["images"]]
    def xyxy(b: list[float]) -> list[float]:
        return [b[0], b[1], b[0] + b[2], b[1] + b[3]]
    g_boxes = {i: [] for i in ids}
    g_labels = {i: [] for i in ids}
    for a in gt.get("annotations", []):
        if not a.get("iscrowd", 0):
            g_boxes[a["image_id"]].append(xyxy(a["bbox"]))
            g_labels[a["image_id"]].append(label[a["category_id"]])
    d_boxes, d_labels, d_scores = ({i: [] for i in ids} for _ in range(3))
    for r in records:
        d_boxes[r["image_id"]].append(xyxy(r["bbox"]))
        d_labels[r["image_id"]].append(label[r["category_id"]])
        d_scores[r["image_id"]].append(r["score"])
    matrix = detection_confusion_matrix([g_boxes[i] for i in ids], [g_labels[i] for i in ids],
                                        [d_boxes[i] for i in ids], [d_labels[i] for i in ids],
                                        [d_scores[i] for i in ids], data.num_classes)
    atomic_write_json(folder / "confusion.json", {"labels": list(data.category_names) + ["background"],
                                                  "matrix": matrix.tolist()})
    plot_confusion(matrix, folder / "confusion.png")
