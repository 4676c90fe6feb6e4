"""Classification metrics vs scikit-learn (the oracle) and the notes' hand-worked Macro-F1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from dlprimer.metrics.classification import (
    AVERAGES,
    accuracy,
    confusion_matrix,
    f1_score,
    per_class_prf,
    precision_recall_f1,
)

SK_AVERAGE = {"macro_f1_mean": "macro", "micro": "micro", "weighted": "weighted"}


def _labels(seed: int):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    n = int(rng.integers(1, 60))
    y_true = rng.integers(0, k, n)
    y_pred = rng.integers(0, max(k - 2, 1), n)  # the top classes are never predicted
    return y_true, y_pred, k


@pytest.mark.parametrize("seed", range(15))
def test_confusion_matrix_and_accuracy_equal_sklearn(seed):
    y_true, y_pred, k = _labels(seed)
    c = confusion_matrix(y_true, y_pred, num_classes=k)
    want = skm.confusion_matrix(y_true, y_pred, labels=range(k))
    assert c.shape == (k, k) and c.dtype == np.int64
    np.testing.assert_array_equal(c, want)
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)


@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan])
@pytest.mark.parametrize("seed", range(12))
def test_averages_equal_sklearn(seed, zero_division):
    y_true, y_pred, k = _labels(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=range(k), average=None, zero_division=zero_division
        )
        ours_per = per_class_prf(y_true, y_pred, num_classes=k, zero_division=zero_division)
        for i, key in enumerate(("precision", "recall", "f1")):
            np.testing.assert_allclose(ours_per[key], per[i], rtol=0, atol=1e-12, err_msg=key)
        for ours_name, sk_name in SK_AVERAGE.items():
            want = skm.precision_recall_fscore_support(
                y_true, y_pred, labels=range(k), average=sk_name, zero_division=zero_division
            )[:3]
            got = precision_recall_f1(y_true, y_pred, ours_name, num_classes=k, zero_division=zero_division)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=ours_name)
            f1 = skm.f1_score(y_true, y_pred, labels=range(k), average=sk_name, zero_division=zero_division)
            assert f1_score(y_true, y_pred, ours_name, k, zero_division) == pytest.approx(f1, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("seed", range(8))
def test_default_classes_equal_sklearn_default_labels(seed):
    """num_classes=None averages over the classes present in either array, as scikit-learn's labels=None."""
    rng = np.random.default_rng(seed)
    y_true = rng.choice([0, 2, 5], 30)  # classes 1, 3, 4 never occur
    y_pred = rng.choice([0, 2, 3], 30)  # 5 never predicted, 3 never true
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ours_name, sk_name in SK_AVERAGE.items():
            want = skm.precision_recall_fscore_support(y_true, y_pred, average=sk_name, zero_division=0)[:3]
            np.testing.assert_allclose(precision_recall_f1(y_true, y_pred, ours_name), want, rtol=0, atol=1e-12)
            assert f1_score(y_true, y_pred, ours_name) == pytest.approx(
                skm.f1_score(y_true, y_pred, average=sk_name, zero_division=0), abs=1e-12
            )


def test_notes_macro_f1_hand_worked():
    """Two classes: P = (1, 0.5), R = (0.5, 1) → P̄ = R̄ = 0.75 → Macro-F1 = 0.75 (notes),
    while the mean of per-class F1 is (2/3 + 2/3)/2 = 2/3 (scikit-learn)."""
    y_true = [0, 0, 1]
    y_pred = [0, 1, 1]
    p, r, f1 = precision_recall_f1(y_true, y_pred, "macro")
    assert (p, r, f1) == pytest.approx((0.75, 0.75, 0.75), abs=1e-15)
    assert f1_score(y_true, y_pred, "macro_f1_mean") == pytest.approx(2 / 3, abs=1e-15)
    assert skm.f1_score(y_true, y_pred, average="macro") == pytest.approx(2 / 3, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40))
def test_notes_macro_matches_its_formula_from_sklearn_means(pairs):
    y_true, y_pred = map(np.array, zip(*pairs, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = skm.precision_score(y_true, y_pred, labels=range(5), average="macro", zero_division=0)
        rm = skm.recall_score(y_true, y_pred, labels=range(5), average="macro", zero_division=0)
    want = 2 * pm * rm / (pm + rm) if pm + rm > 0 else 0.0
    assert f1_score(y_true, y_pred, "macro", num_classes=5) == pytest.approx(want, abs=1e-12)


def test_every_average_is_registered():
    assert set(AVERAGES) == {"macro", "macro_f1_mean", "micro", "weighted"}


def test_errors():
    with pytest.raises(ValueError, match="unknown average .*; known averages: macro, macro_f1_mean, micro, weighted"):
        precision_recall_f1([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="zero_division must be"):
        precision_recall_f1([0, 1], [0, 1], zero_division=0.5)
    with pytest.raises(TypeError, match="zero_division must be"):
        precision_recall_f1([0, 1], [0, 1], zero_division="warn")
    with pytest.raises(ValueError, match="same length"):
        f1_score([0, 1], [0])
    with pytest.raises(ValueError, match="non-negative"):
        f1_score([0, -1], [0, 1])
    with pytest.raises(ValueError, match="num_classes"):
        f1_score([0, 3], [0, 1], num_classes=2)
