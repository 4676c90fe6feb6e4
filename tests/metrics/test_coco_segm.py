"""iou_type="segm": masks (polygons, uncompressed and compressed RLE) vs pycocotools' mask API and COCOeval."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.coco._masks import decode_rle_string, mask_iou_pairs, masks_from_segmentations

# pycocotools' mask.decode trips a NumPy 2 DeprecationWarning inside pycocotools itself
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _dense(masks, i):
    m = np.zeros(masks.h[i] * masks.w[i], np.uint8)
    for s, e in zip(
        masks.start[masks.off[i] : masks.off[i + 1]], masks.end[masks.off[i] : masks.off[i + 1]], strict=True
    ):
        m[s:e] = 1
    return m.reshape(masks.w[i], masks.h[i]).T


def _polygon(rng, w, h, k=None):
    k = int(rng.integers(3, 9)) if k is None else k
    cx, cy = rng.uniform(-5, w + 5), rng.uniform(-5, h + 5)
    pts = np.stack([cx + rng.normal(0, w / 4, k), cy + rng.normal(0, h / 4, k)], 1)
    if rng.random() < 0.3:
        pts = np.round(pts)  # vertices on pixel corners: the rounding rules matter
    return pts.reshape(-1).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_polygons_rasterize_like_pycocotools(seed):
    rng = np.random.default_rng(seed)
    segms, hs, ws, refs = [], [], [], []
    for _ in range(60):
        h, w = int(rng.integers(5, 60)), int(rng.integers(5, 60))
        polys = [_polygon(rng, w, h) for _ in range(int(rng.integers(1, 3)))]
        segms.append(polys)
        hs.append(h)
        ws.append(w)
        refs.append(mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w))))
    masks = masks_from_segmentations(segms, hs, ws, ["s"] * len(segms))
    for i, ref in enumerate(refs):
        np.testing.assert_array_equal(_dense(masks, i), ref, err_msg=f"mask {i}")
    np.testing.assert_array_equal(masks.area, [r.sum() for r in refs])


def test_compressed_rle_decodes_like_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(30):
        m = (rng.random((int(rng.integers(1, 40)), int(rng.integers(1, 40)))) < rng.random()).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(m))
        counts = decode_rle_string(rle["counts"].decode())
        assert counts.dtype == np.int64 and counts.sum() == m.size
        got = masks_from_segmentations(
            [{"counts": rle["counts"].decode(), "size": list(m.shape)}], [None], [None], ["r"]
        )
        np.testing.assert_array_equal(_dense(got, 0), m)


def test_mask_iou_equals_pycocotools():
    rng = np.random.default_rng(1)
    h, w = 40, 50
    segs = [[_polygon(rng, w, h, 6)] for _ in range(24)]
    rles = [mask_utils.merge(mask_utils.frPyObjects(s, h, w)) for s in segs]
    crowd = rng.random(12) < 0.3
    want = mask_utils.iou(rles[:12], rles[12:], crowd.astype(np.uint8))  # [12 dt, 12 gt]
    dt = masks_from_segmentations(segs[:12], [h] * 12, [w] * 12, ["d"] * 12)
    gt = masks_from_segmentations(segs[12:], [h] * 12, [w] * 12, ["g"] * 12)
    pd, pg = np.meshgrid(np.arange(12), np.arange(12), indexing="ij")
    got = mask_iou_pairs(dt, gt, pd.ravel(), pg.ravel(), crowd[pg.ravel()]).reshape(12, 12)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def _segm_data(seed: int, box_results: bool = False):
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "height": int(rng.integers(30, 80)), "width": int(rng.integers(30, 80))} for i in range(8)]
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    anns, dets = [], []
    for im in images:
        h, w = im["height"], im["width"]
        for _ in range(int(rng.integers(0, 5))):
            crowd = rng.random() < 0.15
            poly = [_polygon(rng, w, h)]
            m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, h, w)))
            if crowd:  # crowd regions come as uncompressed RLE
                flat = m.T.reshape(-1)  # column-major, runs start with zeros
                runs = np.diff(np.r_[0, np.flatnonzero(flat[1:] != flat[:-1]) + 1, flat.size])
                counts = ([0] if flat[0] else []) + runs.tolist()
                segm = {"counts": counts, "size": [h, w]}
            else:
                segm = poly
            bbox = list(mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m))).tolist())
            area = float(m.sum()) * (rng.uniform(0.8, 1.0) if rng.random() < 0.3 else 1.0)
            anns.append({"image_id": im["id"], "category_id": int(rng.integers(1, 3)), "segmentation": segm,
                         "bbox": bbox, "area": area, "iscrowd": int(crowd)})  # fmt: skip
            for _ in range(int(rng.integers(0, 4))):  # detections near this object
                jitter = [(np.asarray(p) + rng.normal(0, 1.5, len(p))).tolist() for p in poly]
                dets.append((im, jitter, anns[-1]["category_id"]))
        for _ in range(int(rng.integers(0, 4))):  # detections on nothing
            dets.append((im, [_polygon(rng, w, h)], int(rng.integers(1, 3))))
    for i, a in enumerate(anns):
        a["id"] = i + 1
    results = []
    for im, poly, cat in dets:
        rle = mask_utils.merge(mask_utils.frPyObjects(poly, im["height"], im["width"]))
        rec = {"image_id": im["id"], "category_id": cat, "score": float(np.round(rng.random(), 1)),
               "segmentation": {"counts": rle["counts"].decode(), "size": rle["size"]}}  # fmt: skip
        if box_results:
            rec["bbox"] = mask_utils.toBbox(rle).tolist()
        results.append(rec)
    return {"images": images, "categories": cats, "annotations": anns}, results


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("box_results", [False, True])
def test_segm_equals_pycocotools(seed, box_results, pycoco, same):
    gt, dt = _segm_data(seed, box_results)
    gt0, dt0 = copy.deepcopy(gt), copy.deepcopy(dt)
    ev = pycoco(gt, dt, iouType="segm")
    ours = evaluate(gt, dt, iou_type="segm")
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.scores, ev.eval["scores"], "scores")
    same(ours.stats, ev.stats, "stats")
    assert gt == gt0 and dt == dt0


def test_segm_errors():
    gt, dt = _segm_data(0)
    del gt["images"][0]["height"]
    with pytest.raises(ValueError, match="need the image's 'height' and 'width'"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = _segm_data(0)
    dt[0]["segmentation"]["counts"] = "!!!!"  # truncated compressed RLE: named by file, record and field
    with pytest.raises(ValueError, match=r"results\[0\]\.segmentation: compressed RLE string is truncated"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = _segm_data(0)
    dt[0]["segmentation"]["size"] = ["a", 3]
    with pytest.raises(ValueError, match=r"results\[0\]\.segmentation: RLE size must be \[height, width\]"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = _segm_data(0)
    del gt["annotations"][2]["segmentation"]
    with pytest.raises(ValueError, match=r"annotations\[2\] is missing the required key 'segmentation'"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = _segm_data(0)
    dt[1]["segmentation"] = {"counts": 5, "size": [3, 3]}
    with pytest.raises(ValueError, match=r"results\[1\]\.segmentation: segmentation counts must be"):
        evaluate(gt, dt, iou_type="segm")
