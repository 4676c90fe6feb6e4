"""``dlprimer boxes assign-plot``."""

import pytest

from dlprimer.cli import main


def test_assign_plot_demo(tmp_path, capsys):
    out = tmp_path / "a.png"
    assert main(["boxes", "assign-plot", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "P3 (stride 8)" in text and "wrote" in text


def test_assign_plot_given_boxes(tmp_path, capsys):
    out = tmp_path / "b.png"
    # P5 (20x20 grid): centre at (10.3125, 10.3125) -> own cell + left + up; the 2x2-cell box matches
    # anchors 3.6x2.8 and 4.9x6.2 (ratios < 4) but not 11.7x10.2: 3 cells x 2 anchors = 6.
    # The 225:1 second box matches nothing.
    rc = main(
        [
            "boxes",
            "assign-plot",
            "--box",
            "0,0.515625,0.515625,0.1,0.1",
            "--box",
            "1,0.2,0.3,0.9,0.004",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("P5 (stride 32): ") and lines[2].endswith("per box [6, 0]")


def test_assign_plot_refuses_overwrite_and_bad_box(tmp_path, capsys):
    out = tmp_path / "c.png"
    out.write_bytes(b"mine")
    assert main(["boxes", "assign-plot", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"mine"
    assert main(["boxes", "assign-plot", "--out", str(out), "--overwrite"]) == 0
    assert main(["boxes", "assign-plot", "--box", "0,0.5,0.5", "--out", str(tmp_path / "d.png")]) == 2
    assert "class,cx,cy,w,h" in capsys.readouterr().err
    assert main(["boxes", "assign-plot", "--box", "0,1.5,0.5,0.1,0.1", "--out", str(tmp_path / "d.png")]) == 2
    assert "normalized" in capsys.readouterr().err


@pytest.mark.parametrize("box", ["0,0.5,0.5,inf,0.1", "0,0.5,nan,0.1,0.1", "0,0.5,0.5,0.1,-inf", "inf,0.5,0.5,0.1,0.1"])
def test_non_finite_box_is_rejected(box, tmp_path, capsys, snapshot, one_line_error):
    before = snapshot(tmp_path)
    rc = main(["boxes", "assign-plot", "--box", box, "--out", str(tmp_path / "a.png")])
    one_line_error(rc, capsys.readouterr().err, "--box", "finite", box)
    assert snapshot(tmp_path) == before
