"""``dlprimer train --engine scratch``: the NumPy engine through the same run folder and resume logic."""

from __future__ import annotations

import json

import pytest

from dlprimer.cli import main
from dlprimer.train import TrainConfig, evaluate_run, fit, resume


def rows(run_dir):
    out = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for r in out:
        r.pop("time_s")
    return out


def test_scratch_engine_reaches_097_with_defaults(tmp_path):
    result = fit(TrainConfig(engine="scratch", out=str(tmp_path), name="s"))
    assert result.test_accuracy >= 0.97
    assert evaluate_run(result.run_dir)["test_accuracy"] == result.test_accuracy
    assert (result.run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_scratch_engine_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    cfg = dict(engine="scratch", epochs=3, out=str(tmp_path))
    ref = fit(TrainConfig(name="ref", **cfg))

    class Killed(Exception):
        pass

    def die_after_epoch_2(row):
        if row["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(TrainConfig(name="cut", **cfg), on_epoch=die_after_epoch_2)
    resumed = resume(tmp_path / "cut")
    assert rows(resumed.run_dir) == rows(ref.run_dir)
    assert resumed.summary["per_class"] == ref.summary["per_class"]


@pytest.mark.parametrize("args,match", [(["--amp"], "without --amp"), (["--clip-grad", "1"], "without --amp"),
                                        (["--device", "cuda"], "on the CPU"), ("other-model", "only lenet5")])
def test_scratch_engine_bad_options(tmp_path, capsys, args, match):
    from dlprimer import models

    if args == "other-model":
        others = [m for m in models.list_models() if m != "lenet5"]
        if not others:
            pytest.skip("no other model registered")
        args = ["--model", others[0]]
    assert main(["train", "--engine", "scratch", "--quiet", "--epochs", "1", "--out", str(tmp_path), "--name", "b",
                 *args]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
