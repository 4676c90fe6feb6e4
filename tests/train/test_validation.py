"""Early stopping restores the best epoch; CV folds partition the data, stratified; ensembles average probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlprimer.cli import main
from dlprimer.train import TrainConfig, evaluate_run, fit, resume
from dlprimer.train.checkpoint import load_checkpoint


def tiny(out, name, **kw) -> TrainConfig:
    return TrainConfig(out=str(out), name=name, **{"epochs": 3, "batch_size": 64, "image_size": 16, **kw})


# onecycle at lr 0.2 from epoch 1 on: validation loss 2.00 → 2.57 → 2.31 (it gets worse after epoch 1)
WORSENING = {"epochs": 6, "lr": 0.2, "schedule": "onecycle", "warmup_epochs": 0, "early_stop": 2}


def test_early_stopping_restores_the_best_epoch(tmp_path):
    result = fit(tiny(tmp_path, "es", **WORSENING))
    val = [row["val_loss"] for row in result.history]
    best = int(np.argmin(val)) + 1
    assert best < len(val)  # validation got worse after the best epoch: the premise of the test
    s = result.summary
    assert s["best_epoch"] == best and s["monitor"] == "val_loss" and s["best_value"] == min(val)
    assert s["status"] == "stopped_early" and s["epochs_completed"] == best + 2 < WORSENING["epochs"]
    best_state = load_checkpoint(result.run_dir / "best.pt")
    last_state = load_checkpoint(result.run_dir / "checkpoint.pt")
    assert best_state["epoch"] == best and last_state["epoch"] == best + 2
    assert any(not torch.equal(best_state["engine"]["model"][k], last_state["engine"]["model"][k])
               for k in best_state["engine"]["model"])
    # the summary is the best epoch's: recomputed from best.pt it is identical
    again = evaluate_run(result.run_dir)
    assert again["test_accuracy"] == s["test_accuracy"] and again["confusion_matrix"] == s["confusion_matrix"]


def test_early_stopping_state_survives_an_interruption(tmp_path):
    ref = fit(tiny(tmp_path, "ref", **WORSENING))

    class Killed(Exception):
        pass

    def die(row):
        if row["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(tiny(tmp_path, "cut", **WORSENING), on_epoch=die)
    again = resume(tmp_path / "cut")
    drop = ("time_s", "wall_time_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in again.history] == \
        [{k: v for k, v in r.items() if k not in drop} for r in ref.history]
    assert {k: v for k, v in again.summary.items() if k not in drop} == \
        {k: v for k, v in ref.summary.items() if k not in drop}


def test_cv_folds_are_disjoint_stratified_and_cover_every_sample():
    from dlprimer.data.digits import load_digits_arrays
    from dlprimer.train.classification import cv_fold_indices, cv_fold_split

    s = load_digits_arrays(0, 16)
    labels = np.concatenate([s.train.labels, s.val.labels])
    folds = cv_fold_indices(labels, 4, seed=0)
    everything = np.concatenate(folds)
    assert np.array_equal(np.sort(everything), np.arange(labels.size))  # disjoint and covering: each once
    overall = np.bincount(labels, minlength=10) / labels.size
    for f in folds:
        share = np.bincount(labels[f], minlength=10) / f.size
        assert np.abs(share - overall).max() < 0.02  # stratified
    part = cv_fold_split(s, 4, 1, seed=0)
    assert part.val.labels.size == folds[1].size and part.train.labels.size == labels.size - folds[1].size
    assert np.array_equal(part.test.labels, s.test.labels)  # the test split stays
    # normalized with the fold's own training statistics
    assert abs(float(part.train.images.mean())) < 1e-5 and abs(float(part.train.images.std()) - 1) < 1e-4


def test_cv_command_writes_one_run_per_fold(tmp_path, capsys):
    assert main(["cv", "--folds", "2", "--epochs", "1", "--batch-size", "64", "--image-size", "16", "--quiet",
                 "--out", str(tmp_path), "--name", "cv"]) == 0
    out = capsys.readouterr().out
    assert "mean ± std" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cv-fold0", "cv-fold1"]
    configs = [json.loads((tmp_path / f"cv-fold{i}" / "config.json").read_text()) for i in (0, 1)]
    assert [(c["cv_folds"], c["cv_fold"]) for c in configs] == [(2, 0), (2, 1)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["cv", "--folds", "1", "--out", str(tmp_path), "--name", "cv", "--quiet"]) == 2
    assert "folds must be an integer >= 2" in capsys.readouterr().err
    assert main(["cv", "--folds", "2", "--out", str(tmp_path), "--name", "cv", "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_ensemble_probabilities_are_the_mean_of_the_members(tmp_path, capsys):
    from dlprimer.train.classification import softmax
    from dlprimer.train.engine import load_run
    from dlprimer.train.validation import ensemble_probabilities, evaluate_ensemble

    runs = [fit(tiny(tmp_path, f"m{i}", epochs=1, init=init)).run_dir
            for i, init in enumerate(("kaiming_normal", "xavier_uniform"))]
    mean, members, task = ensemble_probabilities(runs)
    independent = []
    for r in runs:
        _, engine, t = load_run(r)
        x = torch.tensor(t.splits.test.images)
        with torch.no_grad():
            independent.append(torch.softmax(engine.model.eval()(x).double(), dim=1).numpy())
    np.testing.assert_allclose(mean, np.mean(independent, axis=0), atol=1e-6)
    np.testing.assert_allclose(members[0], softmax(load_run(runs[0])[1].predict(task.splits.test.images)),
                               atol=1e-12)
    result = evaluate_ensemble(runs)
    labels = task.splits.test.labels
    assert result["ensemble_accuracy"] == float(np.mean(np.mean(independent, axis=0).argmax(1) == labels))
    assert [m["test_accuracy"] for m in result["members"]] == [float(np.mean(p.argmax(1) == labels))
                                                                 for p in independent]
    assert main(["evaluate", *map(str, runs), "--ensemble"]) == 0
    assert f"ensemble of 2: test accuracy {result['ensemble_accuracy']:.4f}" in capsys.readouterr().out
    other = fit(tiny(tmp_path, "other", epochs=1, seed=5)).run_dir  # another seed: another test split
    assert main(["evaluate", str(runs[0]), str(other), "--ensemble"]) == 2
    assert "other data" in capsys.readouterr().err
