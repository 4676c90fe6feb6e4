"""AnchorGenerator vs torchvision's AnchorGenerator (same values, same order)."""

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator as TVAnchorGenerator
from torchvision.models.detection.image_list import ImageList

from dlprimer.boxes import AnchorGenerator


def torchvision_anchors(sizes, ratios, image_size, feature_sizes, dtype=torch.float32):
    gen = TVAnchorGenerator(sizes, ratios)
    images = ImageList(torch.zeros(1, 3, *image_size, dtype=dtype), [image_size])
    feats = [torch.zeros(1, 1, *fs, dtype=dtype) for fs in feature_sizes]
    return gen(images, feats)[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "sizes,ratios,image,feats",
    [
        (((128, 256, 512),), ((0.5, 1.0, 2.0),), (600, 800), [(38, 50)]),
        (((32,), (64,), (128,)), ((0.5, 1.0, 2.0),) * 3, (256, 320), [(32, 40), (16, 20), (8, 10)]),
        (((20, 45), (70,)), ((0.3, 1.7), (1.0,)), (97, 131), [(13, 17), (5, 7)]),
    ],
)
def test_matches_torchvision(dtype, sizes, ratios, image, feats):
    ours = AnchorGenerator(sizes, ratios)(image, feats, dtype=dtype)
    want = torchvision_anchors(sizes, ratios, image, feats, dtype)
    assert [o.shape[0] for o in ours] == [
        fh * fw * len(s) * len(r) for (fh, fw), s, r in zip(feats, sizes, ratios, strict=True)
    ]
    got = torch.cat(ours)
    assert got.dtype == want.dtype == dtype
    assert torch.equal(got, want)


def test_notes_nine_anchors():
    gen = AnchorGenerator()  # 3 scales x {1:2, 1:1, 2:1}
    assert gen.num_anchors_per_location() == [9]
    base = gen.cell_anchors(0)
    w, h = base[:, 2] - base[:, 0], base[:, 3] - base[:, 1]
    torch.testing.assert_close(h / w, torch.tensor([0.5] * 3 + [1.0] * 3 + [2.0] * 3), rtol=3e-2, atol=0)
    torch.testing.assert_close((w * h).sqrt(), torch.tensor([128.0, 256, 512] * 3), rtol=1e-2, atol=0)
    a = gen((64, 64), [(2, 2)])[0]
    assert a.shape == (4 * 9, 4)
    torch.testing.assert_close(a[9:18] - a[:9], torch.tensor([[32.0, 0, 32, 0]]).expand(9, 4))  # next cell in x


def test_bad_input():
    with pytest.raises(ValueError, match="aspect_ratios must give one tuple per level"):
        AnchorGenerator(((32,), (64,)), ((1.0,), (1.0,), (2.0,)))
    with pytest.raises(ValueError, match="sizes must hold positive numbers"):
        AnchorGenerator(((0, 32),))
    gen = AnchorGenerator()
    with pytest.raises(ValueError, match="feature_sizes must list one"):
        gen((64, 64), [(8, 8), (4, 4)])
    with pytest.raises(ValueError, match="image_size must be"):
        gen((64, -1), [(8, 8)])
    with pytest.raises(ValueError, match="larger than image_size"):
        gen((64, 64), [(128, 8)])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_matches_torchvision(dtype):
    """Regression: base anchors are made in float32 and cast, as torchvision does (half-precision
    arithmetic rounded some anchor sides differently)."""
    sizes, ratios = ((32,), (64,), (128,)), ((0.5, 1.0, 2.0),) * 3
    image, feats = (512, 768), [(64, 96), (32, 48), (16, 24)]
    got = torch.cat(AnchorGenerator(sizes, ratios)(image, feats, dtype=dtype))
    want = torchvision_anchors(sizes, ratios, image, feats, dtype)
    assert got.dtype == want.dtype == dtype
    assert torch.equal(got, want)
