"""iou_type="segm": masks (polygons, uncompressed and compressed RLE) vs pycocotools' mask API and COCOeval."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.coco._masks import decode_rle_string, mask_iou_pairs, masks_from_segmentations
from oracles import make_segm_coco, polygon

# pycocotools' mask.decode trips a NumPy 2 DeprecationWarning inside pycocotools itself
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _dense(masks, i):
    m = np.zeros(masks.h[i] * masks.w[i], np.uint8)
    for s, e in zip(
        masks.start[masks.off[i] : masks.off[i + 1]], masks.end[masks.off[i] : masks.off[i + 1]], strict=True
    ):
        m[s:e] = 1
    return m.reshape(masks.w[i], masks.h[i]).T


@pytest.mark.parametrize("seed", range(4))
def test_polygons_rasterize_like_pycocotools(seed):
    rng = np.random.default_rng(seed)
    segms, hs, ws, refs = [], [], [], []
    for _ in range(60):
        h, w = int(rng.integers(5, 60)), int(rng.integers(5, 60))
        polys = [polygon(rng, w, h) for _ in range(int(rng.integers(1, 3)))]
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
    segs = [[polygon(rng, w, h, 6)] for _ in range(24)]
    rles = [mask_utils.merge(mask_utils.frPyObjects(s, h, w)) for s in segs]
    crowd = rng.random(12) < 0.3
    want = mask_utils.iou(rles[:12], rles[12:], crowd.astype(np.uint8))  # [12 dt, 12 gt]
    dt = masks_from_segmentations(segs[:12], [h] * 12, [w] * 12, ["d"] * 12)
    gt = masks_from_segmentations(segs[12:], [h] * 12, [w] * 12, ["g"] * 12)
    pd, pg = np.meshgrid(np.arange(12), np.arange(12), indexing="ij")
    got = mask_iou_pairs(dt, gt, pd.ravel(), pg.ravel(), crowd[pg.ravel()]).reshape(12, 12)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("box_results", [False, True])
def test_segm_equals_pycocotools(seed, box_results, pycoco, same):
    gt, dt = make_segm_coco(seed, box_results)
    gt0, dt0 = copy.deepcopy(gt), copy.deepcopy(dt)
    ev = pycoco(gt, dt, iouType="segm")
    ours = evaluate(gt, dt, iou_type="segm")
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.scores, ev.eval["scores"], "scores")
    same(ours.stats, ev.stats, "stats")
    assert gt == gt0 and dt == dt0


def test_segm_errors():
    gt, dt = make_segm_coco(0)
    del gt["images"][0]["height"]
    with pytest.raises(ValueError, match="need the image's 'height' and 'width'"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = make_segm_coco(0)
    dt[0]["segmentation"]["counts"] = "!!!!"  # truncated compressed RLE: named by file, record and field
    with pytest.raises(ValueError, match=r"results\[0\]\.segmentation: compressed RLE string is truncated"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = make_segm_coco(0)
    dt[0]["segmentation"]["size"] = ["a", 3]
    with pytest.raises(ValueError, match=r"results\[0\]\.segmentation: RLE size must be \[height, width\]"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = make_segm_coco(0)
    del gt["annotations"][2]["segmentation"]
    with pytest.raises(ValueError, match=r"annotations\[2\] is missing the required key 'segmentation'"):
        evaluate(gt, dt, iou_type="segm")
    gt, dt = make_segm_coco(0)
    dt[1]["segmentation"] = {"counts": 5, "size": [3, 3]}
    with pytest.raises(ValueError, match=r"results\[1\]\.segmentation: segmentation counts must be"):
        evaluate(gt, dt, iou_type="segm")


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"counts": rle["counts"].decode(), "size": list(rle["size"])}


def test_rle_size_differing_from_the_image_is_evaluated_as_pycocotools(pycoco, same):
    """faster-coco-eval's case, generated: a 10x10 RLE on a 640x640 image. pycocotools evaluates it (masks of
    equal size are compared; a ground truth and a detection of different sizes have IoU -1 and never match)."""
    rng = np.random.default_rng(0)
    small = np.zeros((10, 10), bool)
    small[2:8, 3:9] = True
    big = np.zeros((640, 640), bool)
    big[100:300, 50:260] = True
    images = [{"id": 1, "height": 640, "width": 640}, {"id": 2, "height": 640, "width": 640}]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": _rle(small), "area": 36.0, "bbox": [3, 2, 6, 6],
         "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": _rle(big), "area": float(big.sum()),
         "bbox": [50, 100, 210, 200], "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 1, "segmentation": [[10, 10, 200, 10, 200, 150, 10, 150]],
         "area": 26790.0, "bbox": [10, 10, 190, 140], "iscrowd": 0},
    ]  # fmt: skip
    gt = {"images": images, "categories": [{"id": 1, "name": "a"}], "annotations": anns}
    shifted = np.roll(big, 7, axis=1)
    dt = [
        {"image_id": 1, "category_id": 1, "segmentation": _rle(small), "score": 0.9},  # equal 10x10: matches
        {"image_id": 1, "category_id": 1, "segmentation": _rle(np.pad(small, ((0, 630), (0, 630)))), "score": 0.8},
        {"image_id": 1, "category_id": 1, "segmentation": _rle(shifted), "score": 0.7},
        {"image_id": 2, "category_id": 1, "segmentation": _rle(rng.random((640, 640)) < 0.01), "score": 0.6},
    ]
    ev = pycoco(gt, dt, "segm")
    ours = evaluate(gt, dt, iou_type="segm")
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    same(ours.stats, ev.stats, "stats")
    assert ours.stats[1] > 0  # the 10x10 pair matched
