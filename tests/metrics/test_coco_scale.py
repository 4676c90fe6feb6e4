"""Large-vocabulary scale (LVIS-like: 1,000 categories, cap 300): results equal pycocotools, per-category tables
for every class, and memory that grows linearly with the number of detections (measured with tracemalloc,
which sees NumPy's allocations)."""

from __future__ import annotations

import json
import tracemalloc

from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.coco.synthetic import make_coco


def _data(n_images, dt_per_image=60):
    gt, dt = make_coco(0, n_images=n_images, n_categories=1000, gt_per_image=8, dt_per_image=dt_per_image)
    return json.loads(json.dumps(gt)), json.loads(json.dumps(dt))


def test_thousand_categories_cap_300_equal_pycocotools(pycoco, same):
    gt, dt = _data(3, dt_per_image=400)
    ev = pycoco(gt, dt, maxDets=[1, 10, 300])
    ours = evaluate(gt, dt, max_dets=(1, 10, 300))
    same(ours.precision, ev.eval["precision"], "precision")
    same(ours.recall, ev.eval["recall"], "recall")
    assert ours.precision.shape[2] == 1000 and len(ours.per_class) == 1000
    assert {r["category_id"] for r in ours.per_class} == {c["id"] for c in gt["categories"]}


def _peak(gt, dt):
    tracemalloc.start()
    try:
        evaluate(gt, dt, max_dets=(300,))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_linearly_with_detections():
    small, big = _data(60), _data(240)
    n_small, n_big = len(small[1]), len(big[1])
    p_small, p_big = _peak(*small), _peak(*big)
    per_det = (p_big - p_small) / (n_big - n_small)
    print(f"peak {p_small / 2**20:.0f} MiB at {n_small} detections, {p_big / 2**20:.0f} MiB at {n_big}: "
          f"{per_det:.0f} B per detection")  # fmt: skip
    # LVIS size (20,000 images x 300 detections = 6e6) must fit a 24 GiB machine with room to spare
    assert p_small + per_det * 6e6 < 8 * 2**30
    assert p_big < 4 * p_small  # 4x the detections: far less than 4x the memory (a K-sized base dominates)
