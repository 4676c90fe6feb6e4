"""Mixup, cutmix, label smoothing, mosaic and copy-paste: invariants and hand-worked oracles."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlprimer import augment as A


def constant_batch(b: int, h: int, w: int) -> torch.Tensor:
    """Image k is filled with the value k + 1 (float64), so every pixel tells where it came from."""
    return (torch.arange(b, dtype=torch.float64) + 1).view(b, 1, 1, 1).expand(b, 3, h, w).clone()


@settings(max_examples=60, deadline=None)
@given(b=st.integers(1, 7), h=st.integers(2, 30), w=st.integers(2, 30), k=st.integers(2, 6),
       seed=st.integers(0, 10_000), eps=st.sampled_from([0.0, 0.1]))
def test_cutmix_lambda_is_one_minus_pasted_fraction(b, h, w, k, seed, eps):
    images = constant_batch(b, h, w)
    labels = torch.randint(0, k, (b,), generator=torch.Generator().manual_seed(seed))
    t = A.CutMix(alpha=1.0, num_classes=k, label_smoothing=eps)
    out, targets = t(images, labels, torch.Generator().manual_seed(seed))
    assert out.shape == images.shape and targets.shape == (b, k)
    assert torch.allclose(targets.sum(1), torch.ones(b, dtype=targets.dtype), atol=1e-6)
    for i in range(b):
        prev = (i - 1) % b
        if prev == i:  # a batch of one is mixed with itself: nothing changes
            assert torch.equal(out[i], images[i])
            continue
        pasted = float((out[i, 0] == prev + 1).double().mean())  # oracle: count the partner's pixels
        lam = 1.0 - pasted
        onehot = torch.nn.functional.one_hot(labels, k).double()
        expect = lam * onehot[i] + (1 - lam) * onehot[prev]
        expect = expect * (1 - eps) + eps / k
        assert torch.allclose(targets[i].double(), expect, atol=1e-6), (targets[i], expect)


def test_cutmix_box_is_clipped_before_lambda():
    images, targets = constant_batch(3, 10, 10), torch.eye(3, dtype=torch.float64)
    out, mixed, lam = A.cutmix(images, targets, (-4, 6, 3, 20))  # clipped to x [0, 3), y [6, 10)
    assert lam == pytest.approx(1 - 3 * 4 / 100)
    assert int((out[1, 0] == 1).sum()) == 12
    assert torch.allclose(mixed[1], torch.tensor([1 - lam, lam, 0.0], dtype=torch.float64))


@settings(max_examples=60, deadline=None)
@given(b=st.integers(1, 7), seed=st.integers(0, 10_000), alpha=st.sampled_from([0.2, 1.0, 4.0]))
def test_mixup_weights_sum_to_one_for_any_batch_size(b, seed, alpha):
    images = constant_batch(b, 4, 5)
    labels = torch.arange(b) % 3
    out, targets = A.MixUp(alpha=alpha, num_classes=3)(images, labels, torch.Generator().manual_seed(seed))
    assert torch.allclose(targets.sum(1), torch.ones(b, dtype=targets.dtype), atol=1e-6)
    if b > 1:  # pixel value lam (i + 1) + (1 - lam) i recovers lam; it must equal the target weight
        for i in range(b):
            prev = (i - 1) % b
            lam = (float(out[i, 0, 0, 0]) - (prev + 1)) / ((i + 1) - (prev + 1))
            onehot = torch.nn.functional.one_hot(labels, 3).double()
            assert torch.allclose(targets[i].double(), lam * onehot[i] + (1 - lam) * onehot[prev], atol=1e-6)


def test_mixup_uint8_hand_worked():
    images = torch.tensor([0, 100, 255], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 1, 2, 2).contiguous()
    out, targets = A.mixup(images, torch.eye(3), 0.3)
    expect = [round(0.3 * 0 + 0.7 * 255), round(0.3 * 100 + 0.7 * 0), round(0.3 * 255 + 0.7 * 100)]
    assert out[:, 0, 0, 0].tolist() == expect
    assert torch.allclose(targets[0], torch.tensor([0.3, 0.0, 0.7]))


def test_label_smoothing_equals_torch_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(9, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (9,), generator=g)
    for eps in (0.0, 0.1, 0.35, 1.0):
        q = A.smooth_labels(labels, 5, eps, dtype=torch.float64)
        assert q.shape == (9, 5) and q.dtype == torch.float64
        ours = A.soft_target_cross_entropy(logits, q)
        ref = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=eps)
        assert torch.allclose(ours, ref, atol=1e-12), (ours, ref)
        # the notes' q_i: 1 - eps + eps / K on the class, eps / K elsewhere
        assert torch.allclose(q[0, labels[0]], torch.tensor(1 - eps + eps / 5, dtype=torch.float64))


def test_optimal_logit_gap_reproduces_smoothed_targets():
    k, eps = 6, 0.2
    gap = A.optimal_logit_gap(k, eps)
    z = torch.zeros(k, dtype=torch.float64)
    z[2] = gap
    q = A.smooth_labels(torch.tensor([2]), k, eps, dtype=torch.float64)[0]
    assert torch.allclose(torch.softmax(z, 0), q, atol=1e-12)


def test_mixup_never_smooths_implicitly():
    _, targets = A.MixUp(alpha=1.0, num_classes=4, p=0.0)(constant_batch(3, 2, 2), torch.tensor([0, 1, 2]))
    assert torch.equal(targets, torch.eye(4)[:3])


def test_detection_mixup_weights_sum_to_one():
    a = {"image": torch.zeros(3, 8, 8), "boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0]]), "labels": torch.tensor([1])}
    b = {"image": torch.ones(3, 8, 8), "boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 8.0, 8.0]]),
         "labels": torch.tensor([2, 3])}
    out = A.mixup_samples(a, b, 0.25)
    assert torch.allclose(out["image"], torch.full((3, 8, 8), 0.75))
    assert out["labels"].tolist() == [1, 2, 3]
    assert out["box_weights"].tolist() == [0.25, 0.75, 0.75]
    mixed = A.DetectionMixUp()([a, b], torch.Generator().manual_seed(0))
    lam = 1.0 - float(mixed["image"][0, 0, 0])
    assert torch.allclose(mixed["box_weights"], torch.tensor([lam, 1 - lam, 1 - lam]), atol=1e-6)


# ------------------------------------------------------------------------------------------------ mosaic
def labelled(k: int, h: int, w: int, n: int, seed: int, masks: bool) -> dict:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, 2, generator=g) * torch.tensor([w, h])
    boxes = torch.cat([xy.amin(1), xy.amax(1)], 1)
    s = {"image": torch.full((3, h, w), 10 * (k + 1), dtype=torch.uint8), "boxes": boxes,
         "labels": torch.full((n,), k, dtype=torch.int64)}
    if masks:
        s["masks"] = A.rectangle_masks(boxes, (h, w))
    return s


@settings(max_examples=50, deadline=None)
@given(oh=st.integers(8, 64), ow=st.integers(8, 64), seed=st.integers(0, 10_000), n=st.integers(0, 5),
       masks=st.booleans())
def test_mosaic_size_and_boxes_in_their_tiles(oh, ow, seed, n, masks):
    g = torch.Generator().manual_seed(seed)
    samples = [labelled(k, int(torch.randint(6, 50, (), generator=g)), int(torch.randint(6, 50, (), generator=g)),
                        n, seed + k, masks) for k in range(4)]
    cx, cy = int(torch.randint(1, ow, (), generator=g)), int(torch.randint(1, oh, (), generator=g))
    scales = (0.3 + torch.rand(4, generator=g)).tolist()
    out = A.mosaic(samples, (oh, ow), (cx, cy), scales, min_visibility=0.2, min_size=1.0)
    assert out["image"].shape == (3, oh, ow) and out["image"].dtype == torch.uint8
    tiles = [(0, 0, cx, cy), (cx, 0, ow, cy), (0, cy, cx, oh), (cx, cy, ow, oh)]
    for box, label in zip(out["boxes"].tolist(), out["labels"].tolist(), strict=True):
        x1, y1, x2, y2 = tiles[label]  # label k = the sample k = its tile
        assert x1 <= box[0] < box[2] <= x2 and y1 <= box[1] < box[3] <= y2, (box, tiles[label])
    # the pixels of each tile come from its sample (or the grey fill)
    for k, (x1, y1, x2, y2) in enumerate(tiles):
        vals = set(out["image"][0, y1:y2, x1:x2].unique().tolist())
        assert vals <= {10 * (k + 1), 114}
    if masks:
        assert out["masks"].shape == (out["boxes"].shape[0], oh, ow)


def test_mosaic_random_has_requested_size_and_same_seed():
    samples = [labelled(k, 30, 40, 3, k, False) for k in range(4)]
    t = A.Mosaic(output_size=(48, 64))
    a = t(samples, torch.Generator().manual_seed(1))
    b = t(samples, torch.Generator().manual_seed(1))
    assert a["image"].shape == (3, 48, 64)
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["boxes"], b["boxes"])


def test_mosaic_hand_worked_placement():
    """Four 10 x 10 images, scale 1 on a 20 x 20 canvas centred at (10, 10): the images tile it exactly."""
    samples = [labelled(k, 10, 10, 0, 0, False) for k in range(4)]
    for s, box in zip(samples, ([1.0, 1.0, 4.0, 4.0],) * 4, strict=True):
        s["boxes"], s["labels"] = torch.tensor([box]), s["labels"][:0].new_tensor([s["image"][0, 0, 0] // 10 - 1])
    out = A.mosaic(samples, (20, 20), (10, 10), [0.5] * 4, min_visibility=0.0, min_size=0.0)  # f = 0.5 * 2 = 1
    assert out["boxes"].tolist() == [[1.0, 1.0, 4.0, 4.0], [11.0, 1.0, 14.0, 4.0], [1.0, 11.0, 4.0, 14.0],
                                     [11.0, 11.0, 14.0, 14.0]]
    assert out["image"][0, 0, 0] == 10 and out["image"][0, 0, 19] == 20 and out["image"][0, 19, 19] == 40


# -------------------------------------------------------------------------------------------- copy-paste
def test_copy_paste_with_masks_pastes_pixels_and_occludes():
    dst = {"image": torch.zeros(1, 10, 10, dtype=torch.uint8), "boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0],
           [6.0, 6.0, 10.0, 10.0]]), "labels": torch.tensor([1, 2])}
    dst["masks"] = A.rectangle_masks(dst["boxes"], (10, 10))
    src_mask = torch.zeros(1, 10, 10, dtype=torch.bool)
    src_mask[0, 0:4, 0:5] = True  # covers all of dst box 0
    src = {"image": torch.full((1, 10, 10), 9, dtype=torch.uint8), "boxes": torch.tensor([[0.0, 0.0, 5.0, 4.0]]),
           "labels": torch.tensor([7]), "masks": src_mask}
    out = A.copy_paste(dst, src, torch.tensor([0]))
    assert torch.equal(out["image"][0] == 9, src_mask[0])  # pasted exactly where the mask is
    assert out["labels"].tolist() == [2, 7]  # the fully hidden dst instance is dropped
    assert out["boxes"].tolist() == [[6.0, 6.0, 10.0, 10.0], [0.0, 0.0, 5.0, 4.0]]
    assert out["masks"].shape == (2, 10, 10)


def test_copy_paste_box_only_rectangle_fallback_is_not_a_no_op():
    dst = {"image": torch.zeros(3, 12, 12), "boxes": torch.tensor([[0.0, 0.0, 6.0, 6.0]]), "labels": torch.tensor([0])}
    src = {"image": torch.ones(3, 12, 12), "boxes": torch.tensor([[3.0, 3.0, 9.0, 9.0]]), "labels": torch.tensor([5])}
    out = A.copy_paste(dst, src, torch.tensor([0]), min_visibility=0.5)
    assert float(out["image"][0].sum()) == 36.0  # the 6 x 6 rectangle was pasted
    assert out["labels"].tolist() == [0, 5]  # dst box 25 % covered: kept at min_visibility 0.5
    out2 = A.copy_paste(dst, src, torch.tensor([0]), min_visibility=0.8)
    assert out2["labels"].tolist() == [5]
    rand = A.CopyPaste(p_instance=0.0)([dst, src], torch.Generator().manual_seed(0))
    assert rand["labels"].tolist() == [0]  # p_instance 0: nothing chosen, the destination is returned


def test_copy_paste_resizes_source_to_destination():
    dst = {"image": torch.zeros(3, 20, 20), "boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.long)}
    src = {"image": torch.ones(3, 10, 10), "boxes": torch.tensor([[0.0, 0.0, 5.0, 5.0]]), "labels": torch.tensor([1])}
    out = A.copy_paste(dst, src, torch.tensor([0]))
    assert out["boxes"].tolist() == [[0.0, 0.0, 10.0, 10.0]]
    assert float(out["image"][0].sum()) == 100.0
