"""``dlprimer schedules list|plot`` (and the hidden old name ``schedule``)."""

from __future__ import annotations

import pytest

from dlprimer.cli import main
from dlprimer.schedules import build_schedule, list_schedules


def test_list_prints_the_registry_and_every_name_plots(tmp_path, capsys):
    assert main(["schedules", "list"]) == 0
    names = capsys.readouterr().out.split()
    assert names == list_schedules() and len(names) >= 5
    for name in names:  # every printed name is accepted by the command that takes it
        out = tmp_path / f"{name}.png"
        assert main(["schedules", "plot", name, "--steps", "20", "--warmup-steps", "2", "--out", str(out)]) == 0, name
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        build_schedule(name, 0.1, 20, warmup_steps=2)  # and by the library


def test_plot_writes_png_and_refuses_to_overwrite(tmp_path, capsys, snapshot, one_line_error):
    out = tmp_path / "s.png"
    assert main(["schedules", "plot", "cosine", "onecycle", "--out", str(out), "--steps", "100",
                 "--warmup-steps", "10"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    before = snapshot(tmp_path)
    one_line_error(main(["schedules", "plot", "step", "--out", str(out)]), capsys.readouterr().err,
                   "already exists", "--overwrite")
    assert snapshot(tmp_path) == before
    assert main(["schedules", "plot", "step", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.png"]  # no temporary file left behind


def test_old_group_name_still_works(tmp_path):
    assert main(["schedule", "plot", "cosine", "--steps", "10", "--out", str(tmp_path / "s.png")]) == 0


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["cosine", "--steps", "100000000"], ["--steps", "1,000,000", "100,000,000"]),
        (["cosine", "--steps", "0"], ["--steps"]),
        (["warp"], ["unknown schedule 'warp'"]),
        (["cosine", "--warmup-steps", "-1"], ["warmup"]),
        (["cosine", "--lr", "nan"], ["lr"]),
        (["cosine", "--warmup", "5"], ["--warmup", "--warmup-steps"]),  # the unit is in the name
    ],
)
def test_bad_input_one_line_and_nothing_written(args, fragments, tmp_path, capsys, snapshot, one_line_error):
    (tmp_path / "keep.txt").write_text("mine")
    before = snapshot(tmp_path)
    rc = main(["schedules", "plot", *args, "--out", str(tmp_path / "s.png")])
    one_line_error(rc, capsys.readouterr().err, *fragments)
    assert snapshot(tmp_path) == before
