"""``MeanAveragePrecision`` vs torchmetrics' ``MeanAveragePrecision(backend="pycocotools")`` (the oracle) on
generated update sequences: empty predictions, images without targets, crowd and area, every box format,
class metrics, micro averaging, custom thresholds, masks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torchmetrics.detection as tm_detection  # the oracle: a test dependency, never skipped

from dlprimer.metrics.coco import MeanAveragePrecision

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _boxes(rng, n, fmt, size=200.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = np.exp(rng.uniform(np.log(2), np.log(size / 2), (n, 2)))
    if fmt == "xyxy":
        b = np.concatenate([xy, xy + wh], 1)
    elif fmt == "xywh":
        b = np.concatenate([xy, wh], 1)
    else:
        b = np.concatenate([xy + wh / 2, wh], 1)
    return torch.tensor(b, dtype=torch.float32)


def _sequence(seed, fmt, n_updates=3, n_classes=4):
    """Batches of (preds, target): detections near targets, random ones, images with nothing."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n_updates):
        preds, target = [], []
        for _ in range(int(rng.integers(1, 5))):
            n_t = 0 if rng.random() < 0.2 else int(rng.integers(1, 6))
            t_boxes = _boxes(rng, n_t, fmt)
            t_labels = torch.tensor(rng.integers(0, n_classes, n_t))
            t = {"boxes": t_boxes, "labels": t_labels}
            if rng.random() < 0.5:
                t["iscrowd"] = torch.tensor((rng.random(n_t) < 0.15).astype(np.int64))
            if rng.random() < 0.3:
                t["area"] = torch.tensor(rng.uniform(0, 5000, n_t), dtype=torch.float32)
            n_p = 0 if rng.random() < 0.2 else int(rng.integers(1, 12))
            near = min(n_p // 2, n_t)
            p_boxes = torch.cat([t_boxes[:near] + torch.tensor(rng.normal(0, 3, (near, 4)), dtype=torch.float32),
                                 _boxes(rng, n_p - near, fmt)])  # fmt: skip
            if fmt != "xyxy":  # keep widths positive
                p_boxes[:, 2:] = p_boxes[:, 2:].abs()
            p_labels = torch.cat([t_labels[:near], torch.tensor(rng.integers(0, n_classes + 1, n_p - near))])
            scores = torch.tensor(np.round(rng.random(n_p), 1 if rng.random() < 0.5 else 6), dtype=torch.float32)
            preds.append({"boxes": p_boxes, "scores": scores, "labels": p_labels})
            target.append(t)
        batches.append((preds, target))
    return batches


def _assert_equal(ours, theirs):
    assert set(ours) == set(theirs), f"keys: ours {sorted(ours)} vs torchmetrics {sorted(theirs)}"
    for k in theirs:
        a, b = ours[k], theirs[k]
        assert a.dtype == b.dtype and a.shape == b.shape, (
            f"{k}: ours {a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)}"
        )
        assert torch.equal(a, b), f"{k}: ours {a} vs torchmetrics {b}"


CASES = [
    {"box_format": "xyxy"},
    {"box_format": "xyxy", "class_metrics": True},
    {"box_format": "xywh", "class_metrics": True},
    {"box_format": "cxcywh"},
    {"box_format": "xyxy", "average": "micro", "class_metrics": True},
    {"box_format": "xyxy", "iou_thresholds": [0.3, 0.5, 0.75], "rec_thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]},
    {"box_format": "xyxy", "max_detection_thresholds": [1, 5, 8], "class_metrics": True},
    {"box_format": "xywh", "max_detection_thresholds": [2, 10, 100]},
    {"box_format": "xyxy", "extended_summary": True},
    {"box_format": "cxcywh", "class_metrics": True, "average": "macro"},
    {"box_format": "xyxy", "iou_thresholds": [0.5]},
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_equals_torchmetrics(case):
    kwargs = CASES[case]
    ours, theirs = MeanAveragePrecision(**kwargs), tm_detection.MeanAveragePrecision(backend="pycocotools", **kwargs)
    for preds, target in _sequence(case, kwargs["box_format"]):
        ours.update(preds, target)
        theirs.update(preds, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = theirs.compute()
    got = ours.compute()
    if kwargs.get("extended_summary"):
        for k in ("precision", "recall", "scores"):
            np.testing.assert_array_equal(got.pop(k).numpy(), want.pop(k).numpy().astype(np.float64), err_msg=k)
        want.pop("ious")
    _assert_equal(got, want)


def test_reset_and_empty():
    ours, theirs = MeanAveragePrecision(), tm_detection.MeanAveragePrecision(backend="pycocotools")
    empty = {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}
    target = {"boxes": torch.tensor([[1.0, 2, 30, 40]]), "labels": torch.tensor([1])}
    for m in (ours, theirs):
        m.update([empty], [target])
    _assert_equal(ours.compute(), theirs.compute())
    ours.reset()
    assert ours.compute()["map"].item() == -1.0  # nothing accumulated: torchmetrics' -1 ("absent")


def _blobs(rng, n, h, w):
    """``n`` random discs as ``[n, h, w]`` bool masks."""
    yy, xx = np.mgrid[0:h, 0:w]
    c = rng.uniform(0, [w, h], (n, 2))
    r = rng.uniform(3, 10, n)
    return torch.tensor(((xx - c[:, :1, None]) ** 2 + (yy - c[:, 1:, None]) ** 2) < r[:, None, None] ** 2)


def test_masks_equal_torchmetrics():
    rng = np.random.default_rng(3)
    ours = MeanAveragePrecision(iou_type="segm", class_metrics=True)
    theirs = tm_detection.MeanAveragePrecision(backend="pycocotools", iou_type="segm", class_metrics=True)
    for _ in range(3):
        preds, target = [], []
        for _ in range(3):
            h, w = int(rng.integers(20, 40)), int(rng.integers(20, 40))
            n_t, n_p = int(rng.integers(0, 4)), int(rng.integers(0, 5))
            t_masks, t_labels = _blobs(rng, n_t, h, w), torch.tensor(rng.integers(0, 3, n_t))
            near = min(n_p // 2, n_t)
            p_masks = torch.cat([t_masks[:near], _blobs(rng, n_p - near, h, w)])
            p_labels = torch.cat([t_labels[:near], torch.tensor(rng.integers(0, 3, n_p - near))])
            target.append({"masks": t_masks, "labels": t_labels})
            scores = torch.tensor(rng.random(n_p), dtype=torch.float32)
            preds.append({"masks": p_masks, "scores": scores, "labels": p_labels})
        ours.update(preds, target)
        theirs.update(preds, target)
    _assert_equal(ours.compute(), theirs.compute())


def test_bad_input_is_named():
    m = MeanAveragePrecision()
    with pytest.raises(ValueError, match="box_format must be one of"):
        MeanAveragePrecision(box_format="yxyx")
    with pytest.raises(ValueError, match="same length"):
        m.update([], [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}])
    with pytest.raises(ValueError, match=r"preds\[0\] is missing the key\(s\) \['scores'\]"):
        m.update(
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
        )
    with pytest.raises(ValueError, match=r"target\[0\]: boxes must be \[N, 4\]"):
        m.update([{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0)}],
                 [{"boxes": torch.zeros(2, 3), "labels": torch.zeros(2)}])  # fmt: skip
    with pytest.raises(ValueError, match="max_detection_thresholds must be None or a list of 3 ints"):
        MeanAveragePrecision(max_detection_thresholds=[1, 10])


def test_metrics_package_stays_numpy_only():
    import subprocess
    import sys

    code = "import sys, dlprimer.metrics, dlprimer.metrics.coco; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


_DDP_SCRIPT = """
import sys, torch, torch.distributed as dist
from dlprimer.metrics.coco import MeanAveragePrecision
rank = int(sys.argv[1])
dist.init_process_group("gloo", init_method="file://" + sys.argv[2], rank=rank, world_size=2)
m = MeanAveragePrecision(class_metrics=True)
for i, (preds, target) in enumerate(torch.load(sys.argv[4], weights_only=True)):
    if i % 2 == rank:
        m.update(preds, target)
torch.save(m.compute(), sys.argv[3])
dist.destroy_process_group()
"""


def test_compute_gathers_every_rank(tmp_path):
    """Two gloo ranks each see half the updates; both compute the result of all updates (rank 0's first)."""
    import os
    import subprocess
    import sys

    batches = _sequence(5, "xyxy", n_updates=4)
    torch.save(batches, tmp_path / "batches.pt")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _DDP_SCRIPT,
                str(r),
                str(tmp_path / "init"),
                str(tmp_path / f"{r}.pt"),
                str(tmp_path / "batches.pt"),
            ],
            env=env,
        )  # fmt: skip
        for r in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    want = MeanAveragePrecision(class_metrics=True)
    for preds, target in batches[0::2] + batches[1::2]:  # rank 0's updates, then rank 1's
        want.update(preds, target)
    expected = want.compute()
    for r in range(2):
        _assert_equal(torch.load(tmp_path / f"{r}.pt", weights_only=True), expected)
