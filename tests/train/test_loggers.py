"""--log csv|tensorboard: views of metrics.jsonl, equal to it (and identical after a resume)."""

from __future__ import annotations

import csv
import json

import pytest

from dlprimer.train import TrainConfig, fit, resume


def tiny(out, name, **kw) -> TrainConfig:
    return TrainConfig(out=str(out), name=name, **{"epochs": 2, "batch_size": 64, "image_size": 16, **kw})


def jsonl(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_csv_log_equals_metrics_jsonl_even_after_a_resume(tmp_path):
    run = fit(tiny(tmp_path, "c", log="csv")).run_dir
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = jsonl(run)
    assert [list(r) for r in rows] == [list(e) for e in expected]
    assert [{k: float(v) for k, v in r.items()} for r in rows] == [{k: float(v) for k, v in e.items()}
                                                                   for e in expected]

    class Killed(Exception):
        pass

    def die(row):
        raise Killed

    with pytest.raises(Killed):
        fit(tiny(tmp_path, "k", log="csv"), on_epoch=die)
    resumed = resume(tmp_path / "k").run_dir
    with open(resumed / "metrics.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2


def test_tensorboard_log_holds_every_scalar(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = fit(tiny(tmp_path, "t", log="tensorboard")).run_dir
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    expected = jsonl(run)
    assert set(acc.Tags()["scalars"]) == {k for k in expected[0] if k != "epoch"}
    for key in ("train_loss", "val_accuracy", "lr"):
        events = acc.Scalars(key)
        assert [e.step for e in events] == [1, 2]
        assert [e.value for e in events] == pytest.approx([r[key] for r in expected], rel=1e-6)
