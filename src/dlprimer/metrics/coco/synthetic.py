"""Seeded synthetic COCO-style ground truth and detections, for tests, benchmarks and demos.

The data exercise every branch of the COCO rules: crowd regions, tiny (< 32²) to large (> 96²) boxes,
``area`` fields that differ from ``w*h`` (as segmentation areas do), images without ground truth,
categories without ground truth or without detections, tied scores, duplicate detections, zero-size boxes,
shuffled record order and non-contiguous ids.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_coco", "make_coco_keypoints"]


def make_coco(
    seed: int = 0,
    n_images: int = 20,
    n_categories: int = 5,
    gt_per_image: float = 4.0,
    dt_per_image: float = 20.0,
    crowd_fraction: float = 0.05,
    tie_fraction: float = 0.2,
    image_size: float = 640.0,
) -> tuple[dict, list[dict]]:
    """Return ``(gt_dict, results_list)``; the same seed gives the same data.

    About ``gt_per_image`` ground truths (Poisson) and ``dt_per_image`` detections per image; half the
    detections are jittered copies of ground truths (so IoUs spread over 0.3..1), the rest random boxes.
    ``tie_fraction`` of the scores are rounded to one decimal (ties); a few boxes have zero width.
    """
    rng = np.random.default_rng(seed)
    image_ids = rng.permutation(np.arange(1, 3 * n_images + 1))[:n_images] * 7 + 3  # non-contiguous
    cat_ids = np.sort(rng.choice(np.arange(1, 4 * n_categories + 1), n_categories, replace=False))
    images = [{"id": int(i), "width": image_size, "height": image_size} for i in image_ids]
    categories = [{"id": int(c), "name": f"class_{c}"} for c in cat_ids]
    # the last category never has detections, the second-to-last never has ground truth
    gt_cats = cat_ids[:-2] if n_categories >= 3 else cat_ids
    dt_cats = cat_ids[:-1] if n_categories >= 2 else cat_ids

    def boxes(n: int) -> np.ndarray:
        scale = np.exp(rng.uniform(np.log(2.0), np.log(image_size / 1.5), size=(n, 1)))  # tiny..large
        wh = scale * np.exp(rng.normal(0, 0.3, size=(n, 2)))
        xy = rng.uniform(0, image_size, size=(n, 2)) - wh / 2
        return np.round(np.concatenate([xy, wh], axis=1), 2)

    anns: list[dict] = []
    dets: list[dict] = []
    for img in image_ids:
        if rng.random() < 0.15:  # some images without ground truth
            n_gt = 0
        else:
            n_gt = int(rng.poisson(gt_per_image))
        gb = boxes(n_gt)
        gc = rng.choice(gt_cats, n_gt)
        crowd = rng.random(n_gt) < crowd_fraction
        for b, c, cr in zip(gb, gc, crowd, strict=True):
            area = float(b[2] * b[3] * (rng.uniform(0.6, 1.0) if rng.random() < 0.5 else 1.0))
            anns.append(
                {
                    "image_id": int(img),
                    "category_id": int(c),
                    "bbox": [float(v) for v in b],
                    "area": area,
                    "iscrowd": int(cr),
                }
            )
        n_dt = int(rng.poisson(dt_per_image))
        n_near = min(n_dt // 2, 3 * n_gt) if n_gt else 0
        src = rng.integers(0, max(n_gt, 1), n_near)
        near = gb[src] + rng.normal(0, 0.08, size=(n_near, 4)) * np.repeat(gb[src][:, 2:], 2, axis=1)
        near[:, 2:] = np.abs(near[:, 2:])
        near_c = np.where(rng.random(n_near) < 0.85, gc[src], rng.choice(dt_cats, n_near))
        far = boxes(n_dt - n_near)
        far_c = rng.choice(dt_cats, n_dt - n_near)
        db = np.round(np.concatenate([near, far]), 2)
        dc = np.concatenate([near_c, far_c])
        if len(db):
            db[rng.random(len(db)) < 0.02, 2] = 0.0  # zero-width boxes
        sc = rng.random(len(db))
        tie = rng.random(len(db)) < tie_fraction
        sc[tie] = np.round(sc[tie], 1)
        for b, c, s in zip(db, dc, sc, strict=True):
            if c in dt_cats:
                dets.append(
                    {"image_id": int(img), "category_id": int(c), "bbox": [float(v) for v in b], "score": float(s)}
                )
        if len(dets) > 1 and rng.random() < 0.3:  # an exact duplicate detection
            dets.append(dict(dets[-1]))
    order = rng.permutation(len(anns))
    anns = [anns[i] for i in order]
    for i, a in enumerate(anns):
        a["id"] = int(i + 1 + (seed % 3) * 1000)
    dets = [dets[i] for i in rng.permutation(len(dets))]
    return {"images": images, "annotations": anns, "categories": categories}, dets


def make_coco_keypoints(
    seed: int = 0,
    n_images: int = 20,
    n_categories: int = 2,
    n_keypoints: int = 17,
    gt_per_image: float = 3.0,
    dt_per_image: float = 6.0,
) -> tuple[dict, list[dict]]:
    """Keypoint ground truth and results (``keypoints`` ``[x, y, v] * n_keypoints``), seeded.

    Built on :func:`make_coco`'s boxes: keypoints inside each box; unlabelled ones are ``(0, 0, 0)``; some
    ground truths have no visible keypoint (``num_keypoints`` 0, ignored by COCO), some are crowd; about
    half the results are noisy copies of a ground truth's keypoints (noise scaled by the object size), the
    rest random; tied scores.
    """
    gt, boxes_dt = make_coco(seed, n_images, n_categories, gt_per_image, dt_per_image, crowd_fraction=0.08)
    rng = np.random.default_rng(seed + 7919)
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        kx = np.round(x + rng.random(n_keypoints) * w, 2)
        ky = np.round(y + rng.random(n_keypoints) * h, 2)
        v = rng.choice([0, 1, 2], n_keypoints, p=[0.3, 0.2, 0.5]) if rng.random() > 0.1 else np.zeros(n_keypoints)
        kx, ky = np.where(v > 0, kx, 0.0), np.where(v > 0, ky, 0.0)
        a["keypoints"] = [float(t) for t in np.stack([kx, ky, v], axis=1).reshape(-1)]
        a["num_keypoints"] = int(np.count_nonzero(v))
    by_image: dict[int, list[dict]] = {}
    for a in gt["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    results = []
    for d in boxes_dt:
        anns = by_image.get(d["image_id"], [])
        if anns and rng.random() < 0.5:
            src = anns[int(rng.integers(len(anns)))]
            k = np.asarray(src["keypoints"], dtype=np.float64).reshape(-1, 3)
            size = np.sqrt(max(src["area"], 1.0))
            xy = k[:, :2] + rng.normal(0, 0.01 + 0.08 * rng.random(), (n_keypoints, 2)) * size
            cat = src["category_id"] if rng.random() < 0.9 else d["category_id"]
        else:
            x, y, w, h = d["bbox"]
            xy = np.stack([x + rng.random(n_keypoints) * w, y + rng.random(n_keypoints) * h], axis=1)
            cat = d["category_id"]
        kp = np.concatenate([np.round(xy, 2), np.ones((n_keypoints, 1))], axis=1)
        results.append({"image_id": d["image_id"], "category_id": cat, "keypoints": [float(t) for t in kp.reshape(-1)],
                        "score": d["score"]})  # fmt: skip
    return gt, results
