"""The one image decoder and the image-folder dataset, against Pillow and hand-made folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlprimer.data.images import ImageError, load_image_folder, read_image, resize_square


def save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_modes_decode_like_pillow(tmp_path, rng):
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (5, 6), dtype=np.uint8)
    rgba = rng.integers(0, 256, (4, 3, 4), dtype=np.uint8)
    out = read_image(save(tmp_path / "rgb.png", rgb))
    assert out.shape == (9, 7, 3) and out.dtype == np.uint8 and np.array_equal(out, rgb)
    out = read_image(save(tmp_path / "grey.png", grey))
    assert out.shape == (5, 6, 1) and np.array_equal(out[..., 0], grey)
    out = read_image(save(tmp_path / "rgba.png", rgba))
    assert out.shape == (4, 3, 3) and np.array_equal(out, rgba[..., :3])  # alpha dropped, as convert("RGB")
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    pal.save(tmp_path / "pal.png")
    assert np.array_equal(read_image(tmp_path / "pal.png"), np.asarray(pal.convert("RGB")))
    deep = (rng.integers(0, 65536, (3, 4))).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png")[..., 0],
                                  np.round(deep / 65535 * 255).astype(np.uint8))
    jpg = tmp_path / "x.jpg"
    Image.fromarray(rgb).save(jpg, quality=95)
    assert np.array_equal(read_image(jpg), np.asarray(Image.open(jpg).convert("RGB")))


def test_bad_files_are_one_error_naming_the_file(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImageError, match="cannot read image .*notes.png"):
        read_image(text)
    torn = save(tmp_path / "torn.png", np.zeros((40, 40, 3), np.uint8))
    torn.write_bytes(torn.read_bytes()[:60])
    with pytest.raises(ImageError, match="torn.png"):
        read_image(torn)
    with pytest.raises(FileNotFoundError, match="image not found"):
        read_image(tmp_path / "missing.png")


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    big = save(tmp_path / "big.png", np.zeros((300, 400), np.uint8))
    with pytest.raises(ImageError, match="120000 pixels, more than the limit of 100000"):
        read_image(big, max_pixels=100_000)
    assert read_image(big).shape == (300, 400, 1)


def test_resize_square_is_pillow_bilinear_then_centre_crop(rng):
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = resize_square(img, 10)
    expected = np.asarray(Image.fromarray(img).resize((15, 10), Image.Resampling.BILINEAR))[:, 2:12]
    assert out.shape == (10, 10, 3) and np.array_equal(out, expected)


def make_folder(root, per_class=10, classes=("a", "b", "c"), grey=False):
    rng = np.random.default_rng(1)
    for k, name in enumerate(classes):
        for i in range(per_class):
            h, w = 12 + i, 16 + 2 * k
            if grey:
                save(root / name / f"{i}.png", np.full((h, w), 40 + 80 * k, np.uint8))
            else:
                img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
                img[..., k] += 180
                save(root / name / f"{i}.png", img)
    return root


def test_stratified_split_is_disjoint_covers_everything_and_uses_train_statistics(tmp_path):
    root = make_folder(tmp_path / "d", per_class=10)
    s = load_image_folder(root, image_size=8, val_split=0.2, test_split=0.2, seed=3)
    assert s.class_names == ("a", "b", "c")
    parts = (s.train, s.val, s.test)
    paths = [p for part in parts for p in part.paths]
    assert sorted(paths) == sorted(str(p) for p in root.rglob("*.png")) and len(set(paths)) == 30
    assert [np.bincount(p.labels, minlength=3).tolist() for p in parts] == [[6, 6, 6], [2, 2, 2], [2, 2, 2]]
    assert s.train.images.shape == (18, 3, 8, 8) and s.train.images.dtype == np.float32
    pixels = s.train.raw.astype(np.float64) / 255
    np.testing.assert_allclose(s.mean, pixels.mean(axis=(0, 2, 3)), atol=1e-12)
    np.testing.assert_allclose(s.std, pixels.std(axis=(0, 2, 3)), atol=1e-12)
    np.testing.assert_allclose(s.test.images, ((s.test.raw / 255 - np.reshape(s.mean, (1, 3, 1, 1)))
                                               / np.reshape(s.std, (1, 3, 1, 1))), atol=1e-6)
    again = load_image_folder(root, image_size=8, val_split=0.2, test_split=0.2, seed=3)
    assert again.test.paths == s.test.paths
    assert load_image_folder(root, image_size=8, val_split=0.2, test_split=0.2, seed=4).test.paths != s.test.paths


def test_given_splits_and_grey_folders(tmp_path):
    make_folder(tmp_path / "d" / "train", per_class=6, grey=True)
    make_folder(tmp_path / "d" / "test", per_class=2, grey=True)
    s = load_image_folder(tmp_path / "d", image_size=8, val_split=1 / 6, seed=0)
    assert s.train.images.shape[1] == 1  # every image grey: one channel
    assert len(s.test.labels) == 6 and all("/test/" in p for p in s.test.paths)
    assert len(s.val.labels) == 3 and all("/train/" in p for p in s.val.paths)  # val split off train/
    assert not set(s.val.paths) & set(s.train.paths)


def test_folder_errors_and_skipping(tmp_path):
    root = make_folder(tmp_path / "d", per_class=6)
    (root / "b" / "readme.png").write_text("oops")
    with pytest.raises(ImageError, match="readme.png"):
        load_image_folder(root, image_size=8)
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        s = load_image_folder(root, image_size=8, skip_bad_images=True, val_split=0.2, test_split=0.2)
    assert s.skipped == (str(root / "b" / "readme.png"),)
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_image_folder(root / "a", image_size=8)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_image_folder(tmp_path / "nope", image_size=8)
    with pytest.raises(ValueError, match="cannot split off a stratified"):
        load_image_folder(make_folder(tmp_path / "tiny", per_class=2), image_size=8, val_split=0.1, test_split=0.1)
    with pytest.raises(ValueError, match="val_split"):
        load_image_folder(root, val_split=0.0)
