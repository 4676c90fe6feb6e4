"""Detectors: registry, the contract (finite loss, gradients, predictions inside the image), and each model's
encode/decode checked against closed forms and brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlprimer.models import detection
from dlprimer.models.detection.centernet import gaussian_radius
from dlprimer.models.detection.postprocess import NMS_MODES, suppress


def _batch(n: int = 2, size: int = 64) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, size, size, generator=g)
    targets = [
        {"boxes": torch.tensor([[4.0, 6.0, 20.0, 26.0], [30.0, 30.0, 60.0, 50.0]]), "labels": torch.tensor([1, 4])},
        {"boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.long)},
    ][:n]
    return images, targets


def test_registry_names_and_errors():
    assert detection.list_detectors() == ["centernet", "fasterrcnn", "fcos", "yolo"]
    with pytest.raises(ValueError, match="unknown detector 'ssd'; known detectors: centernet, fasterrcnn, fcos, yolo"):
        detection.create("ssd")
    with pytest.raises(ValueError, match="image_size must be divisible by the largest stride 32, got 100"):
        detection.create("fcos", image_size=100)
    with pytest.raises(TypeError, match="num_classes"):
        detection.create("yolo", num_classes=2.5)


@pytest.mark.parametrize("name", detection.list_detectors())
def test_contract_loss_gradients_predictions(name):
    torch.manual_seed(0)
    model = detection.create(name, num_classes=5, in_channels=1, image_size=64, width=8, neck_channels=16)
    images, targets = _batch()
    model.train()
    loss, parts = model.training_loss(images, targets)
    assert loss.ndim == 0 and math.isfinite(float(loss.detach())) and parts
    assert all(math.isfinite(v) for v in parts.values())
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(grads) // 2
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, f"parameters outside the loss's graph (DistributedDataParallel refuses them): {unused[:5]}"
    model.eval()
    preds = model.predict(images, score_threshold=0.0, max_dets=7)
    assert len(preds) == 2
    for p in preds:
        assert set(p) == {"boxes", "scores", "labels"} and p["boxes"].shape[1] == 4 and len(p["boxes"]) <= 7
        assert bool((p["boxes"] >= 0).all() and (p["boxes"] <= 64).all())
        assert bool((p["labels"] >= 0).all() and (p["labels"] < 5).all())
        assert bool((p["scores"][:-1] >= p["scores"][1:]).all())
    assert sum(p.numel() for m in model.head_modules() for p in m.parameters()) > 0


def test_kmeans_anchors_recovers_clusters_and_is_a_fixed_point():
    rng = np.random.default_rng(0)
    centres = np.array([[8, 8], [16, 30], [40, 20]], dtype=float)
    wh = np.concatenate([c * rng.uniform(0.97, 1.03, (50, 2)) for c in centres])
    anchors = detection.kmeans_anchors(wh, k=3, seed=1)
    assert np.allclose(anchors, centres[np.argsort(centres.prod(1))], rtol=0.03)
    # fixed point: each centroid is the median of the boxes whose best (corner-aligned) IoU it is
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    iou = inter / (wh.prod(1)[:, None] + anchors.prod(1)[None] - inter)
    best = iou.argmax(1)
    for j in range(3):
        assert np.allclose(np.median(wh[best == j], axis=0), anchors[j])
    with pytest.raises(ValueError, match="at least one box"):
        detection.kmeans_anchors(np.zeros((0, 2)))


def test_gaussian_radius_hand_worked():
    # h = w = 10, overlap 0.7 (CenterNet's formula): r1 = (20 + sqrt(400 - 4·30/1.7)) / 2 ≈ 19.07,
    # r2 = (40 + sqrt(1600 - 16·30)) / 2 ≈ 36.73, r3 = (-28 + sqrt(28² + 4·2.8·30)) / 2 ≈ 2.733 (the minimum)
    assert gaussian_radius(10, 10, 0.7) == pytest.approx((-28 + math.sqrt(784 + 336)) / 2, abs=1e-12)
    assert gaussian_radius(10, 10, 0.7) == pytest.approx(2.7332, abs=1e-4)


def test_centernet_encode_decode_round_trip():
    model = detection.create("centernet", num_classes=3, image_size=64)
    boxes = torch.tensor([[4.0, 6.0, 20.0, 26.0], [33.5, 30.25, 61.0, 50.0]])
    labels = torch.tensor([2, 0])
    heat, flat, size, off = model.encode(boxes, labels, 16, 16)
    assert float(heat[2].flatten()[flat[0]]) == 1.0 and float(heat[0].flatten()[flat[1]]) == 1.0
    logit = torch.logit(heat.clamp(1e-6, 1 - 1e-6))[None]
    size_map = torch.zeros(1, 2, 16, 16)
    off_map = torch.zeros(1, 2, 16, 16)
    size_map[0, :, flat // 16, flat % 16] = size.T
    off_map[0, :, flat // 16, flat % 16] = off.T
    (b, s, c), = model.candidates({"heat": logit, "size": size_map, "offset": off_map}, score_threshold=0.5)
    order = torch.argsort(c, descending=True)
    assert torch.allclose(b[order], boxes, atol=1e-5), (b[order], boxes)
    assert c[order].tolist() == [2, 0]


def test_fcos_assignment_equals_brute_force():
    model = detection.create("fcos", num_classes=2, image_size=64)
    boxes = torch.tensor([[2.0, 2.0, 14.0, 16.0], [20.0, 8.0, 60.0, 50.0], [10.0, 10.0, 40.0, 40.0]])
    shapes = [(64 // s, 64 // s) for s in model.strides]
    points, ranges, strides = model._points(shapes, torch.device("cpu"))
    best, ltrb = model.assign(points, ranges, strides, boxes)
    for p in range(points.shape[0]):
        x, y = points[p].tolist()
        cands = []
        for g, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
            d = (x - x1, y - y1, x2 - x, y2 - y)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            r = 1.5 * float(strides[p])
            if min(d) > 0 and abs(x - cx) < r and abs(y - cy) < r and ranges[p, 0] < max(d) <= ranges[p, 1]:
                cands.append(((x2 - x1) * (y2 - y1), g, d))
        want = min(cands)[1] if cands else -1
        assert int(best[p]) == want, (p, x, y, int(best[p]), want)
        if cands:
            assert ltrb[p].tolist() == pytest.approx(list(min(cands)[2]))
    assert int((best >= 0).sum()) > 0


def test_yolo_decode_formula():
    model = detection.create("yolo", num_classes=2, image_size=64)
    outs = [torch.zeros(1, 3, 64 // s, 64 // s, 7) for s in model.strides]
    t = torch.tensor([0.3, -0.2, 0.4, -0.1, 5.0, 4.0, -4.0])
    outs[1][0, 2, 1, 3] = t  # level stride 16, anchor 2, cell (gy=1, gx=3)
    for o in outs:
        o[..., 4] = torch.where(o[..., 4] == 0, torch.full_like(o[..., 4], -20.0), o[..., 4])
    (boxes, scores, labels), = model.candidates(outs, score_threshold=0.5)
    sig = torch.sigmoid(t)
    cx, cy = (2 * sig[0] - 0.5 + 3) * 16, (2 * sig[1] - 0.5 + 1) * 16
    aw, ah = model.anchors[1, 2]
    w, h = (2 * sig[2]) ** 2 * aw, (2 * sig[3]) ** 2 * ah
    assert labels.tolist() == [0] and float(scores[0]) == pytest.approx(float(sig[4] * sig[5]), rel=1e-6)
    want = [float(v) for v in (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)]
    assert boxes[0].tolist() == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("mode", NMS_MODES)
def test_suppress_modes(mode):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [30.0, 30.0, 40.0, 40.0],
                          [0.0, 0.0, 10.0, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    labels = torch.tensor([0, 0, 0, 1])
    b, s, lab = suppress(boxes, scores, labels, mode, 0.5, 100)
    assert bool((s[:-1] >= s[1:]).all())
    if mode in ("hard", "diou", "voting"):
        assert lab.tolist() == [0, 0, 1] and s.tolist() == pytest.approx([0.9, 0.7, 0.6])
    else:  # soft: the overlapped box survives with a decayed score
        assert len(s) == 4 and float(s[s < 0.8][0]) < 0.8
    with pytest.raises(ValueError, match="nms must be one of"):
        suppress(boxes, scores, labels, "fast", 0.5, 100)
