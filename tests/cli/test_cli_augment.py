"""`dlprimer augment preview`: writes a grid, refuses to overwrite, reads image folders, rejects bad ops."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from dlprimer.cli import main


def test_preview_writes_png_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "grid.png"
    rc = main(["augment", "preview", "--ops", "hflip,crop", "--ops", "mosaic", "--n", "2", "--seed", "1",
               "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    img = mpimg.imread(out)  # a real PNG that matplotlib can read back
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 100
    assert "wrote" in capsys.readouterr().out
    before = out.read_bytes()
    rc = main(["augment", "preview", "--n", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "exists" in err and "--overwrite" in err
    assert out.read_bytes() == before
    rc = main(["augment", "preview", "--n", "2", "--seed", "5", "--out", str(out), "--overwrite"])
    assert rc == 0 and out.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]  # no temp file left behind


def test_preview_same_seed_same_grid(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for path in (a, b):
        assert main(["augment", "preview", "--ops", "rotate,color,copy_paste", "--n", "2", "--out", str(path)]) == 0
    assert np.array_equal(mpimg.imread(a), mpimg.imread(b))


def test_preview_on_image_folder(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        mpimg.imsave(folder / f"{k}.png", rng.random((20 + k, 30, 3)))
    out = tmp_path / "folder.png"
    rc = main(["augment", "preview", "--images", str(folder), "--ops", "scale,erase", "--n", "3", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ops", "bogus"], "unknown augmentation"),
        (["--n", "0"], "--n"),
        (["--images", "/definitely/not/here"], "does not exist"),
    ],
)
def test_preview_bad_input_is_one_line_error(tmp_path, capsys, args, message, snapshot, one_line_error):
    (tmp_path / "keep.png").write_bytes(b"mine")
    before = snapshot(tmp_path)
    rc = main(["augment", "preview", "--out", str(tmp_path / "x.png"), *args])
    one_line_error(rc, capsys.readouterr().err, message)
    assert snapshot(tmp_path) == before


def test_text_file_named_png_is_named_in_one_line(tmp_path, capsys, snapshot, one_line_error):
    folder = tmp_path / "imgs"
    folder.mkdir()
    mpimg.imsave(folder / "a.png", np.zeros((8, 8, 3)))
    (folder / "b.png").write_text("this is not an image\n")
    before = snapshot(tmp_path)
    rc = main(["augment", "preview", "--images", str(folder), "--n", "2", "--out", str(tmp_path / "g.png")])
    one_line_error(rc, capsys.readouterr().err, "--images", "b.png", "cannot read")
    assert snapshot(tmp_path) == before


def test_out_is_a_folder_or_in_a_missing_folder(tmp_path, capsys, snapshot, one_line_error):
    (tmp_path / "d").mkdir()
    before = snapshot(tmp_path)
    one_line_error(main(["augment", "preview", "--n", "1", "--out", str(tmp_path / "d")]),
                   capsys.readouterr().err, "is a folder")
    assert snapshot(tmp_path) == before
    (tmp_path / "f").write_text("x")
    before = snapshot(tmp_path)
    one_line_error(main(["augment", "preview", "--n", "1", "--out", str(tmp_path / "f" / "g.png")]),
                   capsys.readouterr().err, "is not a folder")
    assert snapshot(tmp_path) == before
