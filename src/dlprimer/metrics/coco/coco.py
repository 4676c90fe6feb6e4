"""pycocotools' API as a drop-in (``pycocotools.coco.COCO``): ``from dlprimer.metrics.coco import COCO, COCOeval``.

This module holds ``COCO``; :mod:`.cocoeval` holds ``COCOeval``.

Scripts written for ``pycocotools.coco.COCO`` / ``pycocotools.cocoeval.COCOeval`` run unchanged and print
the same summary; the work is done by :class:`dlprimer.metrics.coco.evaluator.COCOEvaluator` (vectorized,
NumPy only; pycocotools is never imported). What scripts use is kept, quirks included:

* ``COCO(annotation_file | None)``, ``.dataset``, ``.createIndex()``, ``.anns/.imgs/.cats/.imgToAnns/
  .catToImgs``, ``getImgIds/getCatIds/getAnnIds/loadImgs/loadAnns/loadCats`` with pycocotools' filters, and
  ``loadRes(file | list | ndarray [N, 7])`` with its rules: the first result decides the kind (box results
  get ``area = w*h``, ids ``1..N``, ``iscrowd = 0`` and a box polygon as segmentation; mask results get
  the mask area and its box; keypoint results get the box spanned by all keypoints and its area);
* ``COCOeval(cocoGt, cocoDt, iouType)`` with ``.params`` (``imgIds``, ``catIds``, ``iouThrs``, ``recThrs``,
  ``maxDets``, ``areaRng``, ``areaRngLbl``, ``useCats``, ``kpt_oks_sigmas``) read at ``evaluate()``;
  ``evaluate()`` (``imgIds``/``catIds`` made unique and sorted, ``maxDets`` sorted), ``accumulate()``
  (``eval["precision"|"recall"|"scores"|"counts"|"params"]``; with ``useCats = 0`` one category and
  ``params.catIds`` becomes ``[-1]``), ``summarize()`` (the same printed lines and ``stats``, including
  the ``-1`` of a row whose ``maxDets`` value or IoU threshold is not among the params, and the first AP row
  reading ``maxDets = 100``), ``evalImgs`` (built on first access, in pycocotools' layout).

Documented differences (each switchable where numbers could differ):

* a ground truth with annotation id 0 counts as a normal ground truth (pycocotools counts detections
  matched to it as false positives): set ``COCOeval.compat_gt_id_zero = True`` to reproduce that;
* stricter validation: malformed records raise a ``ValueError``/``TypeError`` naming the file, record and
  field (:mod:`dlprimer.data.coco_json`), where pycocotools computes with them or crashes later;
* the caller's lists and dicts are never mutated (pycocotools writes ``area``, ``id`` ... into them);
* ``iouThrs``/``recThrs`` must be increasing values in [0, 1] and ``maxDets`` distinct positive integers;
* keypoints with ``useCats = 0`` are matched across categories, as boxes and masks are (pycocotools'
  ``computeOks`` ignores ``useCats`` and matches nothing, so every detection counts as a false positive).
"""

from __future__ import annotations

import copy
import itertools
import os
import time
from collections import defaultdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import (
    RESULT_FIELDS,
    GroundTruth,
    check_records,
    load_coco_json,
    load_detections,
    load_ground_truth,
    read_json,
)
from dlprimer.metrics.coco._masks import masks_from_segmentations

__all__ = ["COCO"]


def _is_array_like(obj: Any) -> bool:
    return hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def _as_list(ids: Any) -> list:
    return list(ids) if _is_array_like(ids) else [ids]


class COCO:
    """A COCO dataset with pycocotools' index and query methods (``pycocotools.coco.COCO``)."""

    def __init__(self, annotation_file: str | os.PathLike[str] | dict | None = None) -> None:
        self.dataset: dict = {}
        self.anns: dict = {}
        self.cats: dict = {}
        self.imgs: dict = {}
        self.imgToAnns: defaultdict = defaultdict(list)  # noqa: N815 - pycocotools' names
        self.catToImgs: defaultdict = defaultdict(list)  # noqa: N815
        self._results: list | None = None  # the caller's results, as given to loadRes
        self._gt_arrays: GroundTruth | None = None
        self._results_kind = ""
        if annotation_file is not None:
            print("loading annotations into memory...")
            tic = time.time()
            checked = load_coco_json(annotation_file)  # named errors (file, record, field) before any index
            print(f"Done (t={time.time() - tic:0.2f}s)")
            self.dataset = checked.data
            self._gt_arrays = checked.gt
            self.createIndex()

    def createIndex(self) -> None:  # noqa: N802
        """Build ``anns``, ``imgs``, ``cats``, ``imgToAnns`` and ``catToImgs`` from ``dataset``."""
        print("creating index...")
        anns, cats, imgs = {}, {}, {}
        img_to_anns, cat_to_imgs = defaultdict(list), defaultdict(list)
        for ann in self.dataset.get("annotations", []):
            img_to_anns[ann["image_id"]].append(ann)
            anns[ann["id"]] = ann
        for img in self.dataset.get("images", []):
            imgs[img["id"]] = img
        for cat in self.dataset.get("categories", []):
            cats[cat["id"]] = cat
        if "annotations" in self.dataset and "categories" in self.dataset:
            for ann in self.dataset["annotations"]:
                cat_to_imgs[ann["category_id"]].append(ann["image_id"])
        print("index created!")
        self.anns, self.imgs, self.cats = anns, imgs, cats
        self.imgToAnns, self.catToImgs = img_to_anns, cat_to_imgs

    def info(self) -> None:
        """Print the dataset's ``info`` entries."""
        for key, value in self.dataset.get("info", {}).items():
            print(f"{key}: {value}")

    def getAnnIds(  # noqa: N802
        self,
        imgIds: Any = (),
        catIds: Any = (),
        areaRng: Any = (),
        iscrowd: Any = None,  # noqa: N803
    ) -> list:
        """Ids of annotations on ``imgIds``, of ``catIds``, with ``areaRng[0] < area < areaRng[1]``, crowd flag."""
        img_ids, cat_ids, area_rng = _as_list(imgIds), _as_list(catIds), list(areaRng)
        if len(img_ids) == len(cat_ids) == len(area_rng) == 0:
            anns = self.dataset["annotations"]
        else:
            if img_ids:
                anns = list(itertools.chain.from_iterable(self.imgToAnns[i] for i in img_ids if i in self.imgToAnns))
            else:
                anns = self.dataset["annotations"]
            anns = anns if not cat_ids else [a for a in anns if a["category_id"] in cat_ids]
            anns = anns if not area_rng else [a for a in anns if area_rng[0] < a["area"] < area_rng[1]]
        if iscrowd is not None:
            return [a["id"] for a in anns if a["iscrowd"] == iscrowd]
        return [a["id"] for a in anns]

    def getCatIds(self, catNms: Any = (), supNms: Any = (), catIds: Any = ()) -> list:  # noqa: N802, N803
        """Ids of categories named in ``catNms``, of super-categories ``supNms``, among ``catIds``."""
        nms, sups, ids = _as_list(catNms), _as_list(supNms), _as_list(catIds)
        cats = self.dataset["categories"]
        if nms:
            cats = [c for c in cats if c["name"] in nms]
        if sups:
            cats = [c for c in cats if c["supercategory"] in sups]
        if ids:
            cats = [c for c in cats if c["id"] in ids]
        return [c["id"] for c in cats]

    def getImgIds(self, imgIds: Any = (), catIds: Any = ()) -> list:  # noqa: N802, N803
        """Ids of images among ``imgIds`` that hold every category of ``catIds``."""
        img_ids, cat_ids = _as_list(imgIds), _as_list(catIds)
        if not img_ids and not cat_ids:
            return list(self.imgs.keys())
        ids = set(img_ids)
        for i, cat_id in enumerate(cat_ids):
            if i == 0 and not ids:
                ids = set(self.catToImgs[cat_id])
            else:
                ids &= set(self.catToImgs[cat_id])
        return list(ids)

    def loadAnns(self, ids: Any = ()) -> list:  # noqa: N802
        """Annotation records of ``ids`` (one id or a list)."""
        return [self.anns[i] for i in ids] if _is_array_like(ids) else [self.anns[ids]]

    def loadCats(self, ids: Any = ()) -> list:  # noqa: N802
        """Category records of ``ids``."""
        return [self.cats[i] for i in ids] if _is_array_like(ids) else [self.cats[ids]]

    def loadImgs(self, ids: Any = ()) -> list:  # noqa: N802
        """Image records of ``ids``."""
        return [self.imgs[i] for i in ids] if _is_array_like(ids) else [self.imgs[ids]]

    def loadNumpyAnnotations(self, data: NDArray) -> list[dict]:  # noqa: N802
        """Rows ``[image_id, x, y, w, h, score, category_id]`` → result records (as pycocotools)."""
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != 7:
            raise ValueError(
                f"numpy results must have shape [N, 7] (image_id, x, y, w, h, score, class), got {data.shape}"
            )
        return [
            {"image_id": int(r[0]), "bbox": [r[1], r[2], r[3], r[4]], "score": r[5], "category_id": int(r[6])}
            for r in data
        ]

    def loadRes(self, resFile: str | os.PathLike[str] | list | NDArray) -> COCO:  # noqa: N802, N803
        """A results :class:`COCO` on this dataset's images (``pycocotools.coco.COCO.loadRes``).

        The caller's records are copied, never changed. Raises ``ValueError`` where pycocotools asserts:
        results that are not a list, or on images outside this dataset.
        """
        res = COCO()
        res.dataset["images"] = list(self.dataset["images"])
        print("Loading and preparing results...")
        tic = time.time()
        src = "<detections list>"
        if isinstance(resFile, (str, os.PathLike)):
            anns, src = read_json(resFile, "detections"), f"detections file {os.fspath(resFile)!r}"
        elif isinstance(resFile, np.ndarray):
            anns = self.loadNumpyAnnotations(resFile)
        else:
            anns = resFile
        if isinstance(anns, dict) and "annotations" in anns:
            raise TypeError(f"{src} must be a results list, got a COCO dict; pass its 'annotations' list instead")
        if not isinstance(anns, list):
            raise TypeError(f"{src} must be a list of result records, got {type(anns).__name__}")
        first = anns[0] if anns and isinstance(anns[0], dict) else {}
        kind = "bbox"  # loadRes' rule: the first result decides
        if ("bbox" not in first or first["bbox"] == []) and ("segmentation" in first or "keypoints" in first):
            kind = "segm" if "segmentation" in first else "keypoints"
        if "caption" not in first:  # the evaluator's rules, named, before anything is built
            check_records(anns, src, "results", RESULT_FIELDS[kind])
            if self._gt_arrays is None:
                self._gt_arrays = load_ground_truth(self.dataset)
            if kind == "bbox":
                load_detections(anns, self._gt_arrays, source=src)
        known = set(self.getImgIds())
        missing = [i for i, a in enumerate(anns) if a.get("image_id") not in known]
        if missing:
            i = missing[0]
            raise ValueError(
                f"{src}: results[{i}].image_id={anns[i].get('image_id')!r} is not in the ground truth images"
            )
        res._results = anns
        out = [dict(a) for a in anns]
        first = out[0] if out else {}
        if "caption" in first:
            kind = "caption"
            img_ids = set(self.getImgIds()) & {a["image_id"] for a in out}
            res.dataset["images"] = [img for img in res.dataset["images"] if img["id"] in img_ids]
            for i, a in enumerate(out):
                a["id"] = i + 1
        elif "bbox" in first and first["bbox"] != []:
            kind = "bbox"
            res.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
            for i, a in enumerate(out):
                bb = a["bbox"]
                x1, x2, y1, y2 = bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]
                if "segmentation" not in a:
                    a["segmentation"] = [[x1, y1, x1, y2, x2, y2, x2, y1]]
                a["area"] = bb[2] * bb[3]
                a["id"] = i + 1
                a["iscrowd"] = 0
        elif "segmentation" in first:
            kind = "segm"
            res.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
            masks = self._result_masks(out)
            for i, a in enumerate(out):
                a["area"] = int(masks.area[i])
                if "bbox" not in a:
                    a["bbox"] = _mask_box(masks, i)
                a["id"] = i + 1
                a["iscrowd"] = 0
        elif "keypoints" in first:
            kind = "keypoints"
            res.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
            for i, a in enumerate(out):
                s = np.asarray(a["keypoints"], dtype=np.float64)
                x, y = s[0::3], s[1::3]
                x0, x1, y0, y1 = np.min(x), np.max(x), np.min(y), np.max(y)
                a["area"] = (x1 - x0) * (y1 - y0)
                a["id"] = i + 1
                a["bbox"] = [x0, y0, x1 - x0, y1 - y0]
        else:
            kind = ""
        res._results_kind = kind
        print(f"DONE (t={time.time() - tic:0.2f}s)")
        res.dataset["annotations"] = out
        res.createIndex()
        return res

    def _result_masks(self, anns: list[dict]) -> Any:
        where = [f"results[{i}].segmentation" for i in range(len(anns))]
        hw = [self.imgs.get(a["image_id"], {}) for a in anns]
        return masks_from_segmentations(
            [a["segmentation"] for a in anns], [im.get("height") for im in hw], [im.get("width") for im in hw], where
        )

    def annToRLE(self, ann: dict) -> dict:  # noqa: N802
        """The annotation's mask as uncompressed RLE ``{"counts": [...], "size": [h, w]}``."""
        img = self.imgs[ann["image_id"]]
        m = masks_from_segmentations([ann["segmentation"]], [img.get("height")], [img.get("width")], ["segmentation"])
        h, w = int(m.h[0]), int(m.w[0])
        edges = np.stack([m.start, m.end], axis=1).reshape(-1)
        counts = np.diff(np.r_[0, edges, h * w]).tolist()
        return {"counts": counts, "size": [h, w]}

    def annToMask(self, ann: dict) -> NDArray[np.uint8]:  # noqa: N802
        """The annotation's mask as an ``[h, w]`` uint8 array."""
        rle = self.annToRLE(ann)
        h, w = rle["size"]
        flat = np.repeat(np.arange(len(rle["counts"])) % 2, rle["counts"]).astype(np.uint8)
        return flat.reshape(w, h).T.copy()


def _mask_box(masks: Any, i: int) -> list[float]:
    """pycocotools' ``toBbox`` of mask ``i`` (xywh; an interval that wraps a column spans every row)."""
    s, e = masks.start[masks.off[i] : masks.off[i + 1]], masks.end[masks.off[i] : masks.off[i + 1]] - 1
    h = int(masks.h[i])
    if s.size == 0 or h == 0:
        return [0.0, 0.0, 0.0, 0.0]
    xs, xe = s // h, e // h
    ys, ye = s % h, e % h
    x0, x1 = int(xs.min()), int(xe.max())
    if np.any(xe > xs):
        y0, y1 = 0, h - 1
    else:
        y0, y1 = int(ys.min()), int(ye.max())
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]
