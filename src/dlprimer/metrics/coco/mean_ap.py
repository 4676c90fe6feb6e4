"""``MeanAveragePrecision``: torchmetrics' incremental COCO metric (``update`` / ``compute`` / ``reset``), on the
vectorized evaluator. Equal to ``torchmetrics.detection.MeanAveragePrecision(backend="pycocotools")``.

Typical use in a validation loop::

    metric = MeanAveragePrecision(box_format="xyxy", class_metrics=True)
    for images, targets in loader:
        metric.update(model(images), targets)  # lists of dicts, one per image
    result = metric.compute()  # {"map": tensor(0.41), "map_50": ..., "mar_100": ..., "map_per_class": ...}

Inputs per image: predictions ``{"boxes" [N, 4], "scores" [N], "labels" [N]}`` (``"masks"`` ``[N, H, W]`` bool
for ``iou_type="segm"``), targets ``{"boxes", "labels"}`` plus optional ``"iscrowd"`` and ``"area"`` (used when
> 0; otherwise the box ``w*h`` or the mask area). Boxes are converted to ``xywh`` in their own dtype, as
torchvision's ``box_convert`` does for torchmetrics (so float32 boxes give the same numbers).

torchmetrics' rules kept: image ids are the running index of ``update`` items; the categories are every
label seen in predictions or targets; ``average="micro"`` pools all labels into one class; the per-class
numbers are AP at IoU 0.50:0.95 with cap 100 (pycocotools' first row) and AR at the largest cap; for
``iou_type="segm"`` an image without target masks is left out (with its predictions), and no masks at all
give -1 everywhere. ``extended_summary=True`` adds ``precision``, ``recall`` and ``scores`` (not ``ious``).

Under ``torch.distributed`` (initialized, world size > 1) ``compute()`` gathers every rank's updates, rank 0
first, so all ranks get the same result. torch is imported only inside the methods: importing
``dlprimer.metrics`` stays NumPy-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer._checks import check_bool, check_choice
from dlprimer.data.coco_json import Detections, GroundTruth
from dlprimer.metrics.coco.cocoeval import pycocotools_stats
from dlprimer.metrics.coco.evaluator import COCOEvaluator

__all__ = ["MeanAveragePrecision"]

_BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _to_xywh(boxes: NDArray, fmt: str) -> NDArray:
    """torchvision's ``box_convert(boxes, fmt, "xywh")`` in the boxes' dtype (same float operations)."""
    if fmt == "xywh" or boxes.size == 0:
        return boxes
    if fmt == "cxcywh":
        if boxes.dtype.kind != "f":
            boxes = boxes.astype(np.float32)  # torch: int tensor * 0.5 -> float32
        cx, cy, w, h = boxes.T
        boxes = np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=1)
    x1, y1, x2, y2 = boxes.T
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)


def _numpy(x: Any) -> NDArray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _mask_rle(mask: NDArray) -> tuple[list[int], list[int], int]:
    """Column-major runs of a ``[H, W]`` mask (COCO's uncompressed RLE), its size and area."""
    h, w = mask.shape
    flat = mask.T.reshape(-1).astype(np.int8)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.r_[0, change, flat.size]).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return runs, [h, w], int(flat.sum())


class MeanAveragePrecision:
    """COCO mAP/mAR accumulated over ``update`` calls; ``compute()`` returns torchmetrics' dict of tensors.

    Args:
        box_format: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"`` for ``boxes``.
        iou_type: ``"bbox"`` or ``"segm"`` (``masks``).
        iou_thresholds: list of floats; default torchmetrics' float32 ``linspace(0.5, 0.95, 10)``.
        rec_thresholds: list of floats; default torchmetrics' float32 ``linspace(0, 1, 101)``.
        max_detection_thresholds: three caps, default ``[1, 10, 100]`` (sorted).
        class_metrics: add ``map_per_class`` and ``mar_{cap}_per_class``.
        extended_summary: add the ``precision``, ``recall`` and ``scores`` arrays.
        average: ``"macro"`` (mean over classes) or ``"micro"`` (all labels as one class).
    """

    def __init__(
        self,
        box_format: str = "xyxy",
        iou_type: str = "bbox",
        iou_thresholds: list[float] | None = None,
        rec_thresholds: list[float] | None = None,
        max_detection_thresholds: list[int] | None = None,
        class_metrics: bool = False,
        extended_summary: bool = False,
        average: str = "macro",
    ) -> None:
        import torch

        self.box_format = check_choice(box_format, "box_format", _BOX_FORMATS)
        self.iou_type = check_choice(iou_type, "iou_type", ("bbox", "segm"))
        for name, value in (("iou_thresholds", iou_thresholds), ("rec_thresholds", rec_thresholds)):
            if value is not None and not isinstance(value, list):
                raise TypeError(f"{name} must be None or a list of floats, got {value!r}")
        self.iou_thresholds = iou_thresholds or torch.linspace(0.5, 0.95, round((0.95 - 0.5) / 0.05) + 1).tolist()
        self.rec_thresholds = rec_thresholds or torch.linspace(0.0, 1.00, round(1.00 / 0.01) + 1).tolist()
        if max_detection_thresholds is not None and (
            not isinstance(max_detection_thresholds, list) or len(max_detection_thresholds) != 3
        ):
            raise ValueError(
                f"max_detection_thresholds must be None or a list of 3 ints, got {max_detection_thresholds!r}"
            )
        self.max_detection_thresholds = sorted(int(m) for m in (max_detection_thresholds or [1, 10, 100]))
        self.class_metrics = check_bool(class_metrics, "class_metrics")
        self.extended_summary = check_bool(extended_summary, "extended_summary")
        self.average = check_choice(average, "average", ("macro", "micro"))
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self._preds: list[tuple[NDArray, NDArray, NDArray, Any]] = []  # (xywh, scores, labels, masks)
        self._targets: list[tuple[NDArray, NDArray, NDArray, NDArray, Any]] = []  # (xywh, labels, crowd, area, masks)

    # -- update --------------------------------------------------------------------------------------------
    def update(self, preds: Sequence[dict], target: Sequence[dict]) -> None:
        """Add one batch: ``preds`` and ``target`` are lists of per-image dicts (same length)."""
        key = "boxes" if self.iou_type == "bbox" else "masks"
        if not isinstance(preds, Sequence) or not isinstance(target, Sequence):
            raise TypeError(
                f"preds and target must be lists of dicts, got {type(preds).__name__}, {type(target).__name__}"
            )
        if len(preds) != len(target):
            raise ValueError(f"preds and target must have the same length, got {len(preds)} and {len(target)}")
        for what, items, keys in (("preds", preds, (key, "scores", "labels")), ("target", target, (key, "labels"))):
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise TypeError(f"{what}[{i}] must be a dict, got {type(item).__name__}")
                missing = [k for k in keys if k not in item]
                if missing:
                    raise ValueError(f"{what}[{i}] is missing the key(s) {missing} (needs {list(keys)})")
        new_preds, new_targets = [], []
        for i, p in enumerate(preds):
            labels = _numpy(p["labels"]).reshape(-1)
            scores = _numpy(p["scores"]).reshape(-1)
            boxes, masks = self._geometry(p, len(labels), f"preds[{i}]")
            if len(scores) != len(labels):
                raise ValueError(f"preds[{i}]: {key}, scores and labels must have the same length, got "
                                 f"{len(labels)} labels and {len(scores)} scores")  # fmt: skip
            new_preds.append((boxes, scores.astype(np.float64), self._labels(labels, f"preds[{i}]"), masks))
        for i, t in enumerate(target):
            labels = _numpy(t["labels"]).reshape(-1)
            boxes, masks = self._geometry(t, len(labels), f"target[{i}]")
            crowd = _numpy(t["iscrowd"]).reshape(-1) if "iscrowd" in t else np.zeros(len(labels), np.int64)
            area = _numpy(t["area"]).reshape(-1).astype(np.float64) if "area" in t else np.zeros(len(labels))
            if len(crowd) != len(labels) or len(area) != len(labels):
                raise ValueError(f"target[{i}]: iscrowd and area must have one value per label")
            new_targets.append((boxes, self._labels(labels, f"target[{i}]"), crowd != 0, area, masks))
        self._preds += new_preds
        self._targets += new_targets

    def _labels(self, labels: NDArray, where: str) -> NDArray[np.int64]:
        if labels.size and labels.dtype.kind not in "iu":
            raise TypeError(f"{where}: labels must be integers, got dtype {labels.dtype}")
        return labels.astype(np.int64)

    def _geometry(self, item: dict, n: int, where: str) -> tuple[NDArray, Any]:
        if self.iou_type == "segm":
            masks = _numpy(item["masks"])
            if masks.ndim != 3 or len(masks) != n:
                raise ValueError(f"{where}: masks must be [N, H, W] with one mask per label, got {masks.shape}")
            return np.zeros((n, 4)), [_mask_rle(m.astype(bool)) for m in masks]
        boxes = _numpy(item["boxes"])
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape != (n, 4):
            raise ValueError(f"{where}: boxes must be [N, 4] with one box per label, got {tuple(boxes.shape)}")
        if not np.isfinite(boxes).all():
            raise ValueError(f"{where}: boxes must be finite")
        return _to_xywh(boxes, self.box_format).astype(np.float64), None

    # -- compute -------------------------------------------------------------------------------------------
    def _gathered(self) -> tuple[list, list]:
        import torch

        dist = torch.distributed
        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return self._preds, self._targets
        parts: list = [None] * dist.get_world_size()
        dist.all_gather_object(parts, (self._preds, self._targets))
        return [p for part in parts for p in part[0]], [t for part in parts for t in part[1]]

    def compute(self) -> dict[str, Any]:
        """torchmetrics' result dict: ``map``, ``map_50``, ``map_75``, ``map_small|medium|large``,
        ``mar_{cap}`` for each cap, ``mar_small|medium|large``, ``map_per_class``, ``mar_{cap}_per_class``,
        ``classes`` (float32 tensors; one-element tensors as 0-d, as torchmetrics)."""
        import torch

        preds, targets = self._gathered()
        mdt = self.max_detection_thresholds
        labels = [p[2] for p in preds] + [t[1] for t in targets]
        classes = np.unique(np.concatenate(labels)) if labels else np.zeros(0, np.int64)
        ev = self._evaluator(preds, targets, classes, micro=self.average == "micro")
        if ev is None:
            stats, tables = np.full(12, -1.0), None
        else:
            tables = ev.accumulate()
            stats = self._stats(tables.precision, tables.recall)
        names = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large", f"mar_{mdt[0]}",
                 f"mar_{mdt[1]}", f"mar_{mdt[2]}", "mar_small", "mar_medium", "mar_large"]  # fmt: skip
        out: dict[str, Any] = {
            n: torch.tensor([float(s)], dtype=torch.float32) for n, s in zip(names, stats, strict=True)
        }
        if self.extended_summary and tables is not None:
            out.update(
                precision=torch.tensor(tables.precision), recall=torch.tensor(tables.recall),
                scores=torch.tensor(tables.scores),
            )  # fmt: skip
        per_ap, per_ar = [-1.0], [-1.0]
        if self.class_metrics and ev is not None:
            macro = ev if self.average == "macro" else self._evaluator(preds, targets, classes, micro=False)
            t = macro.tables if macro.tables is not None else macro.accumulate()
            per = [self._stats(t.precision[:, :, k : k + 1], t.recall[:, k : k + 1]) for k in range(len(classes))]
            per_ap, per_ar = [float(s[0]) for s in per], [float(s[8]) for s in per]
        out["map_per_class"] = torch.tensor(per_ap, dtype=torch.float32)
        out[f"mar_{mdt[-1]}_per_class"] = torch.tensor(per_ar, dtype=torch.float32)
        out["classes"] = torch.tensor(classes.tolist(), dtype=torch.int32)
        return {k: v.squeeze() if v.numel() == 1 else v for k, v in out.items()}

    def _stats(self, precision: NDArray, recall: NDArray) -> NDArray[np.float64]:
        thr = np.array(self.iou_thresholds, dtype=np.float64)
        return pycocotools_stats(precision, recall, thr, self.max_detection_thresholds,
                                 ["all", "small", "medium", "large"], "bbox")  # fmt: skip

    def _evaluator(self, preds: list, targets: list, classes: NDArray, micro: bool) -> COCOEvaluator | None:
        """Matched evaluator over every update (``None`` where torchmetrics returns -1 everywhere)."""
        cat_ids = np.zeros(1, np.int64) if micro else classes
        common = dict(
            iou_thresholds=np.array(self.iou_thresholds, dtype=np.float64),
            rec_thresholds=np.array(self.rec_thresholds, dtype=np.float64),
            max_dets=self.max_detection_thresholds,
        )
        if not targets:
            return None
        if self.iou_type == "segm":
            gt, dt = self._segm_dicts(preds, targets, cat_ids, micro)
            if gt is None:
                return None
            ev = COCOEvaluator(gt, dt, "segm", **common)
        else:
            ev = COCOEvaluator(*self._box_arrays(preds, targets, cat_ids, micro), "bbox", **common)
        ev.match()
        return ev

    def _box_arrays(self, preds: list, targets: list, cat_ids: NDArray, micro: bool) -> tuple[GroundTruth, Detections]:
        n_img = len(targets)
        g_img = np.repeat(np.arange(n_img), [len(t[1]) for t in targets])
        g_box = np.concatenate([t[0] for t in targets]) if targets else np.zeros((0, 4))
        g_lab = np.concatenate([t[1] for t in targets])
        g_area = np.concatenate([t[3] for t in targets])
        box_area = g_box[:, 2] * g_box[:, 3]
        area = np.where(g_area > 0, g_area, box_area)
        g_cat = np.zeros_like(g_lab) if micro else np.searchsorted(cat_ids, g_lab)
        gt = GroundTruth(
            np.arange(n_img), cat_ids, [str(c) for c in cat_ids.tolist()], g_img, g_cat, g_box, area,
            np.concatenate([t[2] for t in targets]), np.arange(1, len(g_lab) + 1),
        )  # fmt: skip
        d_img = np.repeat(np.arange(len(preds)), [len(p[2]) for p in preds])
        d_box = np.concatenate([p[0] for p in preds]) if preds else np.zeros((0, 4))
        d_lab = np.concatenate([p[2] for p in preds])
        d_cat = np.zeros_like(d_lab) if micro else np.searchsorted(cat_ids, d_lab)
        d_score = np.concatenate([p[1] for p in preds])
        return gt, Detections(d_img, d_cat, d_box, d_score, d_box[:, 2] * d_box[:, 3])

    def _segm_dicts(self, preds: list, targets: list, cat_ids: NDArray, micro: bool) -> tuple[dict | None, list]:
        images, anns = [], []
        for i, (_, labels, crowd, area, masks) in enumerate(targets):
            if not masks:
                continue  # torchmetrics leaves images without target masks out
            images.append({"id": i, "height": masks[0][1][0], "width": masks[0][1][1]})
            for k, (counts, size, m_area) in enumerate(masks):
                anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 0 if micro else int(labels[k]),
                             "segmentation": {"counts": counts, "size": size}, "bbox": [0, 0, 0, 0],
                             "area": float(area[k]) if area[k] > 0 else m_area, "iscrowd": int(crowd[k])})  # fmt: skip
        if not images or not any(p[3] for p in preds):
            return None, []
        kept = {im["id"] for im in images}
        results = [
            {
                "image_id": i,
                "category_id": 0 if micro else int(p[2][k]),
                "score": float(p[1][k]),
                "segmentation": {"counts": counts, "size": size},
            }  # fmt: skip
            for i, p in enumerate(preds)
            if i in kept
            for k, (counts, size, _) in enumerate(p[3])
        ]
        cats = [{"id": int(c), "name": str(c)} for c in cat_ids.tolist()]
        return {"images": images, "annotations": anns, "categories": cats}, results
