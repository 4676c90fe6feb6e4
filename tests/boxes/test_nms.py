"""nms / batched_nms vs torchvision (identical kept indices and order) and a naive greedy reference."""

import pytest
import torch
import torchvision.ops as tvo
from hypothesis import given, settings
from hypothesis import strategies as st

from dlprimer.boxes import batched_nms, box_iou, nms
from dlprimer.boxes.nms.reference import reference_batched_nms, reference_nms


def grid_boxes(n, seed, size=40, max_wh=15, dtype=torch.float32):
    """Integer boxes: many exact IoU ties, IoU exactly at simple thresholds, duplicate boxes."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.randint(0, size, (n, 2), generator=g)
    wh = torch.randint(0, max_wh, (n, 2), generator=g)
    boxes = torch.cat([xy, xy + wh], 1).to(dtype)
    scores = torch.randint(0, 10, (n,), generator=g).to(dtype) / 10  # many tied scores
    return boxes, scores


def float_boxes(n, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 500
    wh = torch.rand(n, 2, generator=g) * 80 + 1
    return torch.cat([xy, xy + wh], 1).to(dtype), torch.rand(n, generator=g).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 1 / 3, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_nms_matches_torchvision_with_ties(dtype, threshold, seed):
    boxes, scores = grid_boxes(300, seed, dtype=dtype)
    got, want = nms(boxes, scores, threshold), tvo.nms(boxes, scores, threshold)
    assert got.dtype == torch.int64
    assert torch.equal(got, want), f"ours {got.tolist()[:20]} vs torchvision {want.tolist()[:20]}"


def test_threshold_exactly_at_iou():
    # IoU of these two boxes is exactly 0.5: not suppressed at 0.5 (strict >), suppressed just below
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]])
    scores = torch.tensor([0.9, 0.8])
    assert nms(boxes, scores, 0.5).tolist() == [0, 1] == tvo.nms(boxes, scores, 0.5).tolist()
    below = torch.nextafter(torch.tensor(0.5, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64))
    assert nms(boxes, scores, float(below)).tolist() == [0] == tvo.nms(boxes, scores, float(below)).tolist()


def test_float32_iou_compared_in_double():
    # IoU = 7/10 computed in float32 is 0.699999988; against the double threshold 0.7 it is not above;
    # against 0.69999998 (between float32 neighbours) it is
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 7.0]])
    scores = torch.tensor([0.9, 0.8])
    for thr in (0.7, 0.69999998, 0.6999999880790710, 0.69999998807907):
        assert nms(boxes, scores, thr).tolist() == tvo.nms(boxes, scores, thr).tolist(), thr


@pytest.mark.parametrize("n", [0, 1, 700, 1500])
def test_nms_random_sizes(n):
    boxes, scores = float_boxes(n, seed=n)
    assert torch.equal(nms(boxes, scores, 0.5), tvo.nms(boxes, scores, 0.5))


def test_deep_suppression_chain():
    # boxes shifted by 1 px: long chains of suppression inside one block
    x = torch.arange(600, dtype=torch.float32)
    boxes = torch.stack([x, torch.zeros_like(x), x + 10, torch.full_like(x, 10)], 1)
    scores = torch.linspace(1, 0, 600)
    for thr in (0.5, 0.85, 0.95):
        assert torch.equal(nms(boxes, scores, thr), tvo.nms(boxes, scores, thr))


@pytest.mark.parametrize("n", [50, 400, 1200])  # 400 and 1200 boxes use torchvision's per-class path
@pytest.mark.parametrize("seed", [0, 1])
def test_batched_nms_matches_torchvision(n, seed):
    boxes, scores = grid_boxes(n, seed)
    idxs = torch.randint(0, 5, (n,), generator=torch.Generator().manual_seed(seed))
    got, want = batched_nms(boxes, scores, idxs, 0.5), tvo.batched_nms(boxes, scores, idxs, 0.5)
    assert torch.equal(got, want), f"ours {got.tolist()[:20]} vs torchvision {want.tolist()[:20]}"


def test_batched_nms_float64_and_empty():
    boxes, scores = float_boxes(1100, seed=3, dtype=torch.float64)
    idxs = torch.randint(0, 7, (1100,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(batched_nms(boxes, scores, idxs, 0.4), tvo.batched_nms(boxes, scores, idxs, 0.4))
    empty = batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5)
    assert empty.shape == (0,) and empty.dtype == torch.int64


def test_half_boxes_are_upcast():
    boxes, scores = grid_boxes(200, seed=4)
    got = nms(boxes.half(), scores.half(), 0.5)
    assert torch.equal(got, tvo.nms(boxes, scores.half().float(), 0.5))


@st.composite
def detections(draw):
    n = draw(st.integers(0, 25))
    rows = []
    for _ in range(n):
        x, y = draw(st.integers(0, 20)), draw(st.integers(0, 20))
        w, h = draw(st.integers(1, 10)), draw(st.integers(1, 10))
        rows.append([x, y, x + w, y + h])
    boxes = torch.tensor(rows, dtype=torch.float64).reshape(-1, 4)
    scores = torch.tensor([draw(st.integers(0, 5)) / 5 for _ in range(n)], dtype=torch.float64)
    labels = torch.tensor([draw(st.integers(0, 2)) for _ in range(n)], dtype=torch.long)
    thr = draw(st.sampled_from([0.0, 0.2, 0.25, 0.5, 0.75]))
    return boxes, scores, labels, thr


@settings(max_examples=80, deadline=None)
@given(detections())
def test_nms_equals_reference_greedy_and_keeps_no_overlap(data):
    boxes, scores, labels, thr = data
    keep = nms(boxes, scores, thr)
    assert keep.tolist() == reference_nms(boxes, scores, thr).tolist()
    kept_iou = box_iou(boxes[keep], boxes[keep]).fill_diagonal_(0)
    assert (kept_iou <= thr).all()
    bkeep = batched_nms(boxes, scores, labels, thr)
    assert bkeep.tolist() == reference_batched_nms(boxes, scores, labels, thr).tolist()
    same = labels[bkeep][:, None] == labels[bkeep][None, :]
    assert (box_iou(boxes[bkeep], boxes[bkeep]).fill_diagonal_(0)[same] <= thr).all()
    assert (scores[bkeep][:-1] >= scores[bkeep][1:]).all()


def test_bad_input():
    boxes, scores = grid_boxes(5, seed=0)
    with pytest.raises(ValueError, match="boxes must have shape"):
        nms(torch.zeros(5, 5), scores, 0.5)
    with pytest.raises(ValueError, match="boxes must be valid xyxy"):
        nms(torch.tensor([[1.0, 0.0, 0.0, 1.0]]), torch.tensor([1.0]), 0.5)
    with pytest.raises(ValueError, match=r"scores must have shape \[5\]"):
        nms(boxes, scores[:3], 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be .*>= 0"):
        nms(boxes, scores, -0.1)
    with pytest.raises(ValueError, match="scores contains NaN"):
        nms(boxes, torch.tensor([0.1, float("nan"), 0.2, 0.3, 0.4]), 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be a number"):
        nms(boxes, scores, float("nan"))
    with pytest.raises(ValueError, match=r"idxs must have shape \[5\]"):
        batched_nms(boxes, scores, torch.zeros(4, dtype=torch.long), 0.5)
    with pytest.raises(TypeError, match="idxs must be an integer tensor"):
        batched_nms(boxes, scores, torch.zeros(5), 0.5)


def _sorted_cols(boxes, scores):
    order = torch.sort(scores, descending=True, stable=True).indices
    b = boxes[order]
    x1, y1, x2, y2 = (c.contiguous() for c in b.unbind(1))
    return order, b, (x1, y1, x2, y2, (x2 - x1) * (y2 - y1))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7])
def test_sparse_and_dense_paths_both_match_torchvision(seed, threshold):
    import importlib

    nms_mod = importlib.import_module("dlprimer.boxes.nms.vectorized")
    sparse_mod = importlib.import_module("dlprimer.boxes.nms._sparse")
    g = torch.Generator().manual_seed(seed)
    xy = torch.randint(0, 400, (600, 2), generator=g).float()
    wh = torch.randint(0, 25, (600, 2), generator=g).float()  # zero-area boxes included
    boxes = torch.cat([xy, xy + wh], 1)
    boxes[:40] = boxes[40:80]  # exact duplicates
    scores = torch.randint(0, 20, (600,), generator=g).float() / 20  # ties
    want = tvo.nms(boxes, scores, threshold)
    order, b, cols = _sorted_cols(boxes, scores)
    t = nms_mod.threshold_below(threshold, b.dtype)
    edges = sparse_mod.suppression_edges(cols, t, None)
    assert edges is not None  # spread-out boxes take the sparse path
    assert torch.equal(order[sparse_mod.resolve_edges(600, *edges)], want)
    assert torch.equal(order[nms_mod._greedy_keep(b, threshold, sparse=False)], want)
    assert torch.equal(nms(boxes, scores, threshold), want)


@st.composite
def crowds(draw):
    n = draw(st.integers(65, 140))  # above the size where the sparse path is tried
    side = draw(st.sampled_from([12, 40, 200]))  # crowded (dense path) to spread out (sparse path)
    rows = []
    for _ in range(n):
        x, y = draw(st.integers(0, side)), draw(st.integers(0, side))
        w, h = draw(st.integers(0, 12)), draw(st.integers(0, 12))
        rows.append([x, y, x + w, y + h])
    boxes = torch.tensor(rows, dtype=torch.float64)
    scores = torch.tensor([draw(st.integers(0, 6)) / 6 for _ in range(n)], dtype=torch.float64)
    labels = torch.tensor([draw(st.integers(0, 3)) for _ in range(n)], dtype=torch.long)
    return boxes, scores, labels, draw(st.sampled_from([0.0, 0.25, 0.5, 0.8]))


@settings(max_examples=30, deadline=None)
@given(crowds())
def test_larger_inputs_equal_reference_greedy(data):
    boxes, scores, labels, thr = data
    assert nms(boxes, scores, thr).tolist() == reference_nms(boxes, scores, thr).tolist()
    got = batched_nms(boxes, scores, labels, thr)
    assert got.tolist() == reference_batched_nms(boxes, scores, labels, thr).tolist()
    assert torch.equal(got, tvo.batched_nms(boxes, scores, labels, thr))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    boxes, scores = float_boxes(3000, seed=5)
    idxs = torch.randint(0, 9, (3000,), generator=torch.Generator().manual_seed(5))
    assert torch.equal(nms(boxes.cuda(), scores.cuda(), 0.5).cpu(), nms(boxes, scores, 0.5))
    got = batched_nms(boxes.cuda(), scores.cuda(), idxs.cuda(), 0.5).cpu()  # class-shift path on GPU
    assert set(got.tolist()) == set(tvo.batched_nms(boxes, scores, idxs, 0.5).tolist())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.0, 0.4, 0.7])
def test_all_classes_at_once_path(seed, threshold):
    """Crowded per-class NMS (the padded all-classes path) vs torchvision's per-class nms."""
    import importlib

    classes_mod = importlib.import_module("dlprimer.boxes.nms._classes")
    nms_mod = importlib.import_module("dlprimer.boxes.nms.vectorized")
    g = torch.Generator().manual_seed(seed)
    n = 900
    centre = torch.randint(0, 60, (n, 2), generator=g).float()
    wh = torch.randint(0, 30, (n, 2), generator=g).float()
    boxes = torch.cat([centre, centre + wh], 1)
    scores = torch.randint(0, 15, (n,), generator=g).float() / 15
    labels = torch.randint(0, 6, (n,), generator=g)
    labels[:300] = 2  # unequal class sizes
    order = torch.sort(scores, descending=True, stable=True).indices
    order = order[torch.sort(labels[order], stable=True).indices]
    b = boxes[order]
    x1, y1, x2, y2 = b.unbind(1)
    table = torch.stack([x1, y1, x2, y2, (x2 - x1) * (y2 - y1)])
    counts = torch.unique_consecutive(labels[order], return_counts=True)[1]
    keep = order[classes_mod.greedy_keep_classes(table, counts, nms_mod.threshold_below(threshold, torch.float32))]
    want = torch.cat(
        [torch.where(labels == c)[0][tvo.nms(boxes[labels == c], scores[labels == c], threshold)] for c in range(6)]
    )
    assert sorted(keep.tolist()) == sorted(want.tolist())
    assert torch.equal(batched_nms(boxes, scores, labels, threshold), tvo.batched_nms(boxes, scores, labels, threshold))


def clustered(n, seed, n_classes, dtype=torch.float32):
    """Detector-like proposals around n // 50 objects, on an integer-ish grid (ties, exact IoU values)."""
    g = torch.Generator().manual_seed(seed)
    k = max(1, n // 50)
    centre = torch.randint(0, 300, (k, 2), generator=g).float()
    size = torch.randint(8, 60, (k, 2), generator=g).float()
    which = torch.randint(0, k, (n,), generator=g)
    c = centre[which] + torch.randint(-4, 5, (n, 2), generator=g).float()
    s = size[which] + torch.randint(-3, 4, (n, 2), generator=g).float()
    boxes = torch.cat([c - s / 2, c + s / 2], 1).to(dtype)
    scores = (torch.randint(0, 40, (n,), generator=g).float() / 40).to(dtype)
    return boxes, scores, torch.randint(0, n_classes, (k,), generator=g)[which]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_push_paths_crowded_and_handover(seed, threshold):
    """Crowded boxes (settled by pushing kept boxes forward) and spread-out boxes above the probe size
    (2048 boxes: the push hands the rest over to the other algorithms) vs torchvision."""
    boxes, scores, labels = clustered(2600, seed, n_classes=7)
    assert torch.equal(nms(boxes, scores, threshold), tvo.nms(boxes, scores, threshold))
    got = batched_nms(boxes, scores, labels, threshold)  # per-class push
    assert torch.equal(got, tvo.batched_nms(boxes, scores, labels, threshold))
    spread, s2 = float_boxes(2600, seed=seed + 10)
    spread[::3] = spread[1::3][: spread[::3].shape[0]] + 1.0  # near-duplicates: some suppression
    assert torch.equal(nms(spread, s2, threshold), tvo.nms(spread, s2, threshold))
    l2 = torch.randint(0, 4, (2600,), generator=torch.Generator().manual_seed(seed))
    assert torch.equal(batched_nms(spread, s2, l2, threshold), tvo.batched_nms(spread, s2, l2, threshold))


def test_push_many_classes_float64():
    boxes, scores, labels = clustered(3000, 3, n_classes=60, dtype=torch.float64)
    for thr in (0.0, 0.5):
        assert torch.equal(batched_nms(boxes, scores, labels, thr), tvo.batched_nms(boxes, scores, labels, thr))
        assert torch.equal(nms(boxes, scores, thr), tvo.nms(boxes, scores, thr))


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_infinite_coordinates_rejected_like_nan(bad):
    """Issue #14: an infinite coordinate is rejected with the same one-line ValueError as NaN (it used to
    be accepted by nms and to turn batched_nms' class offset into NaN)."""
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12.0]])
    boxes[0, 2 if bad > 0 else 0] = bad
    scores = torch.tensor([0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match=r"boxes contains NaN or inf coordinates"):
        nms(boxes, scores, 0.5)
    with pytest.raises(ValueError, match=r"boxes contains NaN or inf coordinates"):
        batched_nms(boxes, scores, torch.tensor([0, 0, 1]), 0.5)


def test_numpy_scalar_threshold_accepted():
    """Regression: numpy scalars (e.g. a threshold read from a config array) were rejected as non-numbers."""
    import numpy as np

    boxes, scores = grid_boxes(200, seed=3)
    for thr in (np.float32(0.5), np.float64(0.3), np.int64(1), np.int32(0)):
        assert torch.equal(nms(boxes, scores, thr), tvo.nms(boxes, scores, float(thr)))
    with pytest.raises(TypeError, match="iou_threshold must be a number"):
        nms(boxes, scores, np.bool_(True))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_reference_greedy_equals_torchvision(seed, threshold):
    """The notes' plain greedy NMS (the oracle above) is itself checked against torchvision."""
    boxes, scores = float_boxes(150, seed=seed, dtype=torch.float64)
    assert torch.equal(reference_nms(boxes, scores, threshold), tvo.nms(boxes, scores, threshold))
    idxs = torch.randint(0, 4, (150,), generator=torch.Generator().manual_seed(seed))
    want = tvo.batched_nms(boxes, scores, idxs, threshold)
    assert torch.equal(reference_batched_nms(boxes, scores, idxs, threshold), want)
