"""yolov5_build_targets: hand-worked cases and a transcription of YOLOv5's build_targets as the oracle."""

import pytest
import torch

from dlprimer.boxes import yolov5_build_targets

ANCHORS = torch.tensor(
    [[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]],
    dtype=torch.float32,
)
STRIDES = [8, 16, 32]


def yolov5_reference(targets, anchors_px, strides, size, anchor_t=4.0, g=0.5):
    """The rule of ultralytics/yolov5 utils/loss.py build_targets, restated independently in plain torch."""
    na, nt = anchors_px.shape[1], targets.shape[0]
    ai = torch.arange(na).float().view(na, 1).repeat(1, nt)
    tg = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)  # [na, nt, 7]
    off = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]).float() * g
    result = []
    for layer, s in enumerate(strides):
        anchors = anchors_px[layer] / s
        n = size // s
        gain = torch.ones(7)
        gain[2:6] = torch.tensor([n, n, n, n], dtype=torch.float32)
        t = tg * gain
        r = t[..., 4:6] / anchors[:, None]
        j = torch.max(r, 1 / r).max(2)[0] < anchor_t
        t = t[j]
        gxy = t[:, 2:4]
        gxi = gain[[2, 3]] - gxy
        j, k = ((gxy % 1 < g) & (gxy > 1)).T
        l, m = ((gxi % 1 < g) & (gxi > 1)).T
        j = torch.stack((torch.ones_like(j), j, k, l, m))
        t = t.repeat((5, 1, 1))[j]
        offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
        gxy, gwh, a = t[:, 2:4], t[:, 4:6], t[:, 6].long()
        gij = (gxy - offsets).long()
        gi, gj = gij[:, 0].clamp(0, n - 1), gij[:, 1].clamp(0, n - 1)
        result.append(
            {
                "image": t[:, 0].long(),
                "cls": t[:, 1].long(),
                "anchor": a,
                "gy": gj,
                "gx": gi,
                "txy": gxy - torch.stack([gi, gj], 1),
                "twh": gwh,
                "anchor_wh": anchors[a],
            }
        )
    return result


def test_matches_yolov5_with_duplicates():
    g = torch.Generator().manual_seed(0)
    m = 40
    targets = torch.cat(
        [
            torch.randint(0, 3, (m, 1), generator=g).float(),
            torch.randint(0, 5, (m, 1), generator=g).float(),
            torch.rand(m, 2, generator=g),
            torch.rand(m, 2, generator=g) * 0.5,
        ],
        1,
    )
    targets[:5, 2:4] = torch.tensor(
        [[0.5, 0.5], [0.25, 0.75], [0.0, 1.0], [1.0, 0.0], [0.125, 0.5]]
    )  # exact grid points
    ours = yolov5_build_targets(targets, ANCHORS, STRIDES, 640, keep_duplicates=True)
    ref = yolov5_reference(targets, ANCHORS, STRIDES, 640)
    for o, r in zip(ours, ref, strict=True):
        for key in r:
            assert o[key].shape == r[key].shape, key
            assert torch.equal(o[key], r[key]), key
        assert torch.equal(o["image"], targets[o["target"], 0].long())


def test_duplicates_dropped_by_default():
    g = torch.Generator().manual_seed(1)
    targets = torch.cat([torch.zeros(20, 2), torch.rand(20, 2, generator=g), torch.rand(20, 2, generator=g) * 0.3], 1)
    targets[:4, 2:4] = torch.tensor([[0.5, 0.5], [0.25, 0.75], [0.0, 1.0], [1.0, 0.0]])
    ours = yolov5_build_targets(targets, ANCHORS, STRIDES, 640)
    ref = yolov5_reference(targets, ANCHORS, STRIDES, 640)
    for o, r in zip(ours, ref, strict=True):
        mine = {
            (int(t), int(a), int(y), int(x))
            for t, a, y, x in zip(o["target"], o["anchor"], o["gy"], o["gx"], strict=True)
        }
        assert len(mine) == o["target"].numel()  # no duplicates
        theirs = {(int(a), int(y), int(x)) for a, y, x in zip(r["anchor"], r["gy"], r["gx"], strict=True)}
        assert {k[1:] for k in mine} == theirs  # same positive cells
        per_gt = torch.bincount(o["target"], minlength=20)
        assert (per_gt <= 9).all()
        assert ((o["txy"] >= -0.5) & (o["txy"] <= 1.5)).all()


def one(cx, cy, w, h, layer=2):
    t = torch.tensor([[0.0, 3.0, cx, cy, w, h]], dtype=torch.float64)
    return yolov5_build_targets(t, ANCHORS, STRIDES, 640)[layer]


def cells(d):
    return sorted({(int(y), int(x)) for y, x in zip(d["gy"], d["gx"], strict=True)})


def test_box_at_cell_centre_gets_only_its_cell():
    d = one((10 + 0.5) / 20, (7 + 0.5) / 20, 0.2, 0.2)  # stride 32: grid 20x20, centre of cell (7, 10)
    # 4x4 grid units vs anchors 3.625x2.8125, 4.875x6.1875, 11.66x10.19: ratios < 4 for all three
    assert cells(d) == [(7, 10)]
    assert sorted(d["anchor"].tolist()) == [0, 1, 2]
    torch.testing.assert_close(d["txy"], torch.full((3, 2), 0.5, dtype=torch.float64))
    torch.testing.assert_close(d["twh"], torch.full((3, 2), 4.0, dtype=torch.float64))
    assert d["cls"].tolist() == [3, 3, 3]


def test_near_a_corner_gets_two_neighbours():
    d = one(10.2 / 20, 7.3 / 20, 0.2, 0.2)  # lower fractions: left and upper neighbours
    assert cells(d) == [(6, 10), (7, 9), (7, 10)]
    assert d["target"].numel() == 9  # 3 cells x 3 anchors: the notes' maximum
    left = d["gx"] == 9
    torch.testing.assert_close(d["txy"][left][:, 0], torch.full((3,), 1.2, dtype=torch.float64))
    d = one(10.8 / 20, 7.9 / 20, 0.2, 0.2)  # upper fractions: right and lower neighbours
    assert cells(d) == [(7, 10), (7, 11), (8, 10)]
    torch.testing.assert_close(d["txy"][d["gx"] == 11][:, 0], torch.full((3,), -0.2, dtype=torch.float64))


def test_image_border_has_no_outside_neighbour():
    d = one(0.3 / 20, 19.8 / 20, 0.2, 0.2)  # first column, last row: the neighbours would be outside
    assert cells(d) == [(19, 0)]
    d = one(1.3 / 20, 18.6 / 20, 0.2, 0.2)  # one cell in: left needs gx > 1 -> yes; down needs gh - gy > 1
    assert cells(d) == [(18, 0), (18, 1), (19, 1)]


def test_too_elongated_for_every_anchor():
    t = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.9, 0.004]])  # aspect 225:1
    assert all(d["target"].numel() == 0 for d in yolov5_build_targets(t, ANCHORS, STRIDES, 640))
    # a square box far larger than the P3 anchors only matches on the coarse layer
    t = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.6, 0.6]])
    out = yolov5_build_targets(t, ANCHORS, STRIDES, 640)
    assert out[0]["target"].numel() == 0 and out[2]["target"].numel() > 0


def test_empty_targets_and_dtypes():
    out = yolov5_build_targets(torch.zeros(0, 6), ANCHORS, STRIDES, (320, 640))
    assert len(out) == 3 and all(v.shape[0] == 0 for d in out for v in d.values())
    out = yolov5_build_targets(torch.tensor([[0.0, 1.0, 0.5, 0.5, 0.1, 0.1]]).half(), ANCHORS, STRIDES, 640)
    assert out[0]["txy"].dtype == torch.float32


def test_bad_input():
    t = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.1, 0.1]])
    with pytest.raises(ValueError, match=r"targets must have shape \[M, 6\]"):
        yolov5_build_targets(t[:, :5], ANCHORS, STRIDES, 640)
    with pytest.raises(ValueError, match="cx, cy"):
        yolov5_build_targets(torch.tensor([[0.0, 0.0, 1.5, 0.5, 0.1, 0.1]]), ANCHORS, STRIDES, 640)
    with pytest.raises(ValueError, match="non-negative integers"):
        yolov5_build_targets(torch.tensor([[0.5, 0.0, 0.5, 0.5, 0.1, 0.1]]), ANCHORS, STRIDES, 640)
    with pytest.raises(ValueError, match="anchors must have shape"):
        yolov5_build_targets(t, ANCHORS[..., :1], STRIDES, 640)
    with pytest.raises(ValueError, match="strides must list one stride"):
        yolov5_build_targets(t, ANCHORS, [8, 16], 640)
    with pytest.raises(ValueError, match="strides must be positive ints dividing"):
        yolov5_build_targets(t, ANCHORS, [8, 16, 30], 640)
    with pytest.raises(ValueError, match="anchor_t must be .*> 1"):
        yolov5_build_targets(t, ANCHORS, STRIDES, 640, anchor_t=0.5)
    with pytest.raises(ValueError, match="targets contains NaN"):
        yolov5_build_targets(torch.tensor([[0.0, 0.0, float("nan"), 0.5, 0.1, 0.1]]), ANCHORS, STRIDES, 640)
