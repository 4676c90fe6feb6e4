"""pycocotools' ``COCOeval`` as a drop-in, on the vectorized evaluator (see :mod:`.coco` for the API's
rules and its documented differences from pycocotools)."""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dlprimer.data.coco_json import merge_categories
from dlprimer.metrics.coco._keypoints import COCO_KEYPOINT_SIGMAS
from dlprimer.metrics.coco._params import default_iou_thresholds, default_rec_thresholds
from dlprimer.metrics.coco.coco import COCO
from dlprimer.metrics.coco.evaluator import COCOEvaluator

__all__ = ["COCOeval", "Params", "pycocotools_stats"]


class Params:
    """pycocotools' ``Params``: what ``COCOeval.evaluate()`` reads (set them between construction and it)."""

    def __init__(self, iouType: str = "segm") -> None:  # noqa: N803
        if iouType not in ("segm", "bbox", "keypoints"):
            raise ValueError(f"iouType must be 'bbox', 'segm' or 'keypoints', got {iouType!r}")
        self.imgIds: list = []
        self.catIds: list = []
        self.iouThrs = default_iou_thresholds()
        self.recThrs = default_rec_thresholds()
        if iouType == "keypoints":
            self.maxDets = [20]
            self.areaRng = [[0**2, 1e5**2], [32**2, 96**2], [96**2, 1e5**2]]
            self.areaRngLbl = ["all", "medium", "large"]
            self.kpt_oks_sigmas = COCO_KEYPOINT_SIGMAS.copy()
        else:
            self.maxDets = [1, 10, 100]
            self.areaRng = [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]]
            self.areaRngLbl = ["all", "small", "medium", "large"]
        self.useCats = 1
        self.iouType = iouType
        self.useSegm = None


class COCOeval:
    """``pycocotools.cocoeval.COCOeval`` on the vectorized evaluator: same params, arrays, printout."""

    def __init__(self, cocoGt: COCO | None = None, cocoDt: COCO | None = None, iouType: str = "segm") -> None:  # noqa: N803
        if not iouType:
            print("iouType not specified. use default iouType segm")
            iouType = "segm"
        self.cocoGt, self.cocoDt = cocoGt, cocoDt
        self.params = Params(iouType=iouType)
        self.eval: dict = {}
        self.stats: Any = []
        self.compat_gt_id_zero = False
        self._evaluator: COCOEvaluator | None = None
        self._evalImgs: list | None = None
        self._paramsEval: Params | None = None
        self._dt_index: list[int] = []
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    # -- phase 1 ---------------------------------------------------------------------------------------
    def evaluate(self) -> None:
        """Match detections to ground truth with the current ``params`` (pycocotools' ``evaluate``)."""
        tic = time.time()
        print("Running per image evaluation...")
        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
            print(f"useSegm (deprecated) is not None. Running {p.iouType} evaluation")
        print(f"Evaluate annotation type *{p.iouType}*")
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        gt, dt = self._inputs(p)
        self._evaluator = COCOEvaluator(
            gt,
            dt,
            p.iouType,
            iou_thresholds=p.iouThrs,
            rec_thresholds=p.recThrs,
            max_dets=p.maxDets,
            area_ranges=[tuple(r) for r in p.areaRng],
            compat_gt_id_zero=self.compat_gt_id_zero,
            kpt_oks_sigmas=getattr(p, "kpt_oks_sigmas", None) if p.iouType == "keypoints" else None,
        )
        self._evaluator.match()
        self._paramsEval = copy.deepcopy(p)
        self._evalImgs = None
        self.eval = {}
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def _inputs(self, p: Params) -> tuple[dict, list]:
        """Ground-truth dict and results list restricted as pycocotools' ``_prepare`` restricts them."""
        if self.cocoGt is None or self.cocoDt is None:
            raise ValueError("COCOeval needs cocoGt and cocoDt before evaluate()")
        gt_data, dt_coco = self.cocoGt.dataset, self.cocoDt
        img_set = set(p.imgIds)
        cat_ids = list(p.catIds)
        cat_rank = {c: i for i, c in enumerate(cat_ids)}
        known = {c["id"]: c for c in gt_data.get("categories", [])}

        def keep(rec: dict) -> bool:
            return rec.get("image_id") in img_set and rec.get("category_id") in cat_rank

        gt_anns = [a for a in gt_data.get("annotations", []) if keep(a)]
        kind = dt_coco._results_kind if dt_coco._results is not None else ""
        if p.iouType == "segm" and kind == "segm":  # mask results: the caller's records (area from the mask)
            dt_recs = [{k: v for k, v in r.items() if k != "bbox"} for r in dt_coco._results]
        elif p.iouType == "keypoints" and kind == "keypoints":
            dt_recs = list(dt_coco._results)
        else:
            dt_recs = list(dt_coco.dataset.get("annotations", []))
        self._dt_index = [i for i, d in enumerate(dt_recs) if keep(d)]  # positions in the results list
        dt_anns = [dt_recs[i] for i in self._dt_index]
        images = [im for im in gt_data.get("images", []) if im["id"] in img_set]
        gt = {"images": images, "categories": [known.get(c, {"id": c}) for c in cat_ids], "annotations": gt_anns}
        if p.useCats:
            return gt, dt_anns
        order = sorted(range(len(dt_anns)), key=lambda i: cat_rank[dt_anns[i]["category_id"]])
        self._dt_index = [self._dt_index[i] for i in order]  # merge_categories sorts stably the same way
        return merge_categories(gt, dt_anns, cat_ids)

    # -- phase 2 ---------------------------------------------------------------------------------------
    def accumulate(self, p: Params | None = None) -> None:
        """Precision/recall tables into ``eval`` (pycocotools' ``accumulate``)."""
        print("Accumulating evaluation results...")
        tic = time.time()
        if self._evaluator is None:
            print("Please run evaluate() first")
            raise RuntimeError("accumulate() needs evaluate() first")
        if p is None:
            p = self.params
        p.catIds = p.catIds if p.useCats == 1 else [-1]
        tables = self._evaluator.accumulate()
        T, R, K, A, M = tables.precision.shape
        self.eval = {
            "params": p,
            "counts": [T, R, K, A, M],
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "precision": tables.precision,
            "recall": tables.recall,
            "scores": tables.scores,
        }
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    # -- phase 3 ---------------------------------------------------------------------------------------
    def summarize(self) -> None:
        """Print the standard numbers and set ``stats`` (pycocotools' ``summarize``, line for line)."""
        if not self.eval:
            raise RuntimeError("Please run accumulate() first")
        p = self.params
        self.stats = pycocotools_stats(
            self.eval["precision"], self.eval["recall"], p.iouThrs, p.maxDets, p.areaRngLbl, p.iouType, echo=print
        )

    def __str__(self) -> str:
        self.summarize()
        return ""

    # -- per-image records, built on first access ------------------------------------------------------
    @property
    def evalImgs(self) -> list:  # noqa: N802
        """pycocotools' per-(category, area range, image) records, built from the matches when first read.

        Entries are ``None`` where an image has neither ground truth nor detections; otherwise dicts with
        ``image_id, category_id, aRng, maxDet, dtIds, gtIds, dtMatches [T, D], gtMatches [T, G], dtScores,
        gtIgnore, dtIgnore [T, D]`` (``dtIds`` here are positions + 1 in the results, as ``loadRes`` numbers
        them). Slow on large sets (one Python dict per entry), which is why it is lazy.
        """
        if self._evalImgs is None:
            if self._evaluator is None:
                return []
            self._evalImgs = _eval_imgs(self._evaluator, self._paramsEval, np.asarray(self._dt_index, np.int64))
        return self._evalImgs

    @evalImgs.setter
    def evalImgs(self, value: list) -> None:  # noqa: N802
        self._evalImgs = value


def pycocotools_stats(
    precision: NDArray[np.float64],
    recall: NDArray[np.float64],
    iou_thrs: NDArray[np.float64],
    max_dets: list[int],
    area_labels: list[str],
    iou_type: str,
    echo: Any = None,
) -> NDArray[np.float64]:
    """pycocotools' ``summarize`` on accumulated arrays: 12 numbers (10 for keypoints); ``echo`` prints lines.

    Quirks kept: rows are found by label (``"all"``, ``"small"`` ...) and by exact equality of the cap and the
    IoU threshold, so a row whose cap or threshold is not among the params is ``-1``; the first AP row reads
    cap 100, the others ``max_dets[2]`` (an ``IndexError`` with fewer than three caps, as pycocotools).
    """

    def one(ap: int = 1, iou: float | None = None, area: str = "all", cap: int = 100) -> float:
        aind = [i for i, lbl in enumerate(area_labels) if lbl == area]
        mind = [i for i, m in enumerate(max_dets) if m == cap]
        s = precision if ap == 1 else recall
        if iou is not None:
            s = s[np.where(iou == np.asarray(iou_thrs))[0]]
        s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
        mean_s = -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
        if echo is not None:
            line = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"
            title, kind = ("Average Precision", "(AP)") if ap == 1 else ("Average Recall", "(AR)")
            iou_str = f"{iou_thrs[0]:0.2f}:{iou_thrs[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
            echo(line.format(title, kind, iou_str, area, cap, mean_s))
        return mean_s

    if iou_type == "keypoints":
        rows = [(1, None, "all"), (1, 0.5, "all"), (1, 0.75, "all"), (1, None, "medium"), (1, None, "large")]
        rows += [(0, None, "all"), (0, 0.5, "all"), (0, 0.75, "all"), (0, None, "medium"), (0, None, "large")]
        return np.array([one(ap, iou, area, 20) for ap, iou, area in rows], dtype=np.float64)
    m = max_dets
    stats = np.zeros((12,))
    stats[0] = one(1)
    stats[1] = one(1, iou=0.5, cap=m[2])
    stats[2] = one(1, iou=0.75, cap=m[2])
    for i, area in enumerate(("small", "medium", "large")):
        stats[3 + i] = one(1, area=area, cap=m[2])
    for i in range(3):
        stats[6 + i] = one(0, cap=m[i])
    for i, area in enumerate(("small", "medium", "large")):
        stats[9 + i] = one(0, area=area, cap=m[2])
    return stats


def _eval_imgs(ev: COCOEvaluator, p: Params, dt_index: NDArray[np.int64]) -> list:
    """pycocotools' ``evalImgs`` list from a matched :class:`COCOEvaluator` (category, area, image order)."""
    gt, dt, mt = ev.gt, ev.dt, ev.matches
    T, rng = len(ev.params.iou_thresholds), ev.params.area_array
    ignore = gt.iscrowd if ev.keypoints is None else ev.keypoints.ignore
    kept = mt.det_index
    d_by: dict = defaultdict(list)
    for n in np.lexsort((mt.rank, dt.img[kept], dt.cat[kept])):
        d_by[int(dt.cat[kept[n]]), int(dt.img[kept[n]])].append(n)
    g_by: dict = defaultdict(list)
    for g in range(len(gt.img)):
        g_by[int(gt.cat[g]), int(gt.img[g])].append(g)
    match_of: dict = {}
    for t, a, n, g in zip(mt.t.tolist(), mt.a.tolist(), mt.det.tolist(), mt.gt.tolist(), strict=True):
        match_of[t, a, n] = g
    out = []
    cat_ids = [-1] if not p.useCats else list(gt.category_ids.tolist())
    for k, cat_id in enumerate(cat_ids):
        for a, (lo, hi) in enumerate(rng):
            for i, img_id in enumerate(gt.image_ids.tolist()):
                gs, ns = g_by.get((k, i), []), d_by.get((k, i), [])
                if not gs and not ns:
                    out.append(None)
                    continue
                g_ign = ignore[gs] | (gt.area[gs] < lo) | (gt.area[gs] > hi)
                order = np.argsort(g_ign, kind="mergesort")
                gs, g_ign = [gs[j] for j in order], g_ign[order]
                pos = {g: j for j, g in enumerate(gs)}
                gt_ids = gt.ann_ids[gs].tolist() if gs else []
                dt_m, gt_m = np.zeros((T, len(ns))), np.zeros((T, len(gs)))
                dt_ig = np.zeros((T, len(ns)), dtype=bool)
                area_d = dt.area[kept[ns]] if ns else np.zeros(0)
                for t in range(T):
                    for c, n in enumerate(ns):
                        g = match_of.get((t, a, n))
                        if g is None:
                            dt_ig[t, c] = area_d[c] < lo or area_d[c] > hi
                        else:
                            dt_m[t, c] = gt.ann_ids[g]
                            gt_m[t, pos[g]] = int(dt_index[kept[n]]) + 1
                            dt_ig[t, c] = bool(g_ign[pos[g]])
                out.append(
                    {
                        "image_id": img_id,
                        "category_id": cat_id,
                        "aRng": [lo, hi],
                        "maxDet": p.maxDets[-1],
                        "dtIds": [int(dt_index[kept[n]]) + 1 for n in ns],
                        "gtIds": gt_ids,
                        "dtMatches": dt_m,
                        "gtMatches": gt_m,
                        "dtScores": [float(dt.score[kept[n]]) for n in ns],
                        "gtIgnore": g_ign.astype(int),
                        "dtIgnore": dt_ig,
                    }
                )
    return out
