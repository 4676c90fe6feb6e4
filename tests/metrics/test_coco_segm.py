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


def test_batch_rle_decoding_equals_one_by_one():
    """decode_rle_strings (all strings at once) equals decode_rle_string per string, empty strings included,
    and names the first truncated string."""
    from dlprimer.metrics.coco._masks import decode_rle_string, decode_rle_strings

    rng = np.random.default_rng(5)
    strings = []
    for i in range(40):
        m = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) < rng.uniform(0, 1)
        strings.append(b"" if i % 9 == 0 else mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))["counts"])
    counts, item, bad = decode_rle_strings(strings)
    assert bad == -1
    for i, s in enumerate(strings):
        np.testing.assert_array_equal(counts[item == i], decode_rle_string(s))
    assert decode_rle_strings([strings[1], strings[2], b"!!!!", strings[3]])[2] == 2


@pytest.mark.parametrize("seed", range(3))
def test_polygon_edge_cases_rasterize_like_pycocotools(seed):
    """Vertices far outside the image (negative too), duplicate vertices, lines, single points, tiny and
    many-vertex polygons, half-pixel coordinates, box lists: all polygons rasterized at once, each mask
    equal to pycocotools' (frPyObjects + merge + decode)."""
    rng = np.random.default_rng(100 + seed)
    segms, hs, ws, refs = [], [], [], []
    for i in range(80):
        h, w = int(rng.integers(1, 50)), int(rng.integers(1, 50))
        kind = i % 6
        if kind == 0:  # far outside, negative
            polys = [(rng.uniform(-3 * w, 3 * w, 2 * int(rng.integers(3, 7)))).round(1).tolist()]
        elif kind == 1:  # duplicate consecutive vertices and a line
            p = polygon(rng, w, h, 5)
            polys = [p[:2] + p[:2] + p[2:], [1.0, 1.0, float(w), float(h), 1.0, 1.0]]
        elif kind == 2:  # half-pixel and integral coordinates
            polys = [(np.round(np.asarray(polygon(rng, w, h, 6)) * 2) / 2).tolist()]
        elif kind == 3:  # tiny
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            polys = [[x, y, x + 0.3, y, x + 0.3, y + 0.4]]
        elif kind == 4:  # many vertices, several parts
            polys = [polygon(rng, w, h, int(rng.integers(20, 40))) for _ in range(3)]
        else:  # boxes [x, y, w, h]
            polys = [[rng.uniform(-5, w), rng.uniform(-5, h), rng.uniform(0, w), rng.uniform(0, h)] for _ in range(2)]
        segms.append(polys)
        hs.append(h)
        ws.append(w)
        obj = np.array(polys) if kind == 5 else polys  # pycocotools takes boxes as an array only
        refs.append(mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(obj, h, w))))
    masks = masks_from_segmentations(segms, hs, ws, ["s"] * len(segms))
    for i, ref in enumerate(refs):
        np.testing.assert_array_equal(_dense(masks, i), ref, err_msg=f"mask {i}: {segms[i]}")
