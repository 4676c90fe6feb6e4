"""Every experiment: its quick mode runs and writes a real result; its criterion flips at its thresholds.

The criterion tests are generic: for each registered experiment the numbers are placed just inside every
threshold (verdict ``reproduced``), then one number at a time is moved just across its threshold (the verdict
must change: ``partly`` with several conditions, ``not reproduced`` with one). A verdict that cannot flip fails.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from dlprimer.experiments import EXPERIMENTS, VERDICTS, Condition, Criterion, verdict_of

NOTES = Path("/work/shared/notes/000_e89da6fa536ee505.txt")
FAMILIES = {"initialization", "activations", "normalization", "optimization", "regularization", "architecture",
            "losses", "detection"}
AVAILABLE = [n for n, e in EXPERIMENTS.items() if e.requires is None]


def test_at_least_25_experiments_covering_every_family():
    assert len(EXPERIMENTS) >= 25
    topics = {e.topic for _, e in EXPERIMENTS.items()}
    assert FAMILIES <= topics, FAMILIES - topics
    for family in FAMILIES:  # each family has at least one experiment that runs here
        assert any(EXPERIMENTS.get(n).topic == family for n in AVAILABLE), family


@pytest.mark.parametrize("name", EXPERIMENTS.names())
def test_metadata_complete(name):
    e = EXPERIMENTS.get(name)
    assert e.name == name and name == name.lower()
    for field in (e.topic, e.section, e.claim_zh, e.claim_en, e.setup):
        assert isinstance(field, str) and field.strip()
    assert re.search(r"[\u4e00-\u9fff]", e.claim_zh), "the claim is quoted in Chinese"
    assert 1 <= e.setup.count("\n") + 1 <= 2, "setup in at most two lines"
    assert e.criterion.conditions


@pytest.mark.skipif(not NOTES.is_file(), reason="the notes are not on this machine")
@pytest.mark.parametrize("name", EXPERIMENTS.names())
def test_claim_and_section_quoted_exactly_from_the_notes(name):
    e = EXPERIMENTS.get(name)
    notes = NOTES.read_text(encoding="utf-8")
    assert e.section in {line.strip() for line in notes.splitlines()}, e.section
    for part in re.split(r"; | \.\.\. |\.\.\. ", e.claim_zh):  # "; " and " ... " join quoted fragments
        assert part.strip() in notes, part


def _inside(conds: list[Condition]) -> float:
    """A value satisfying every condition on one number (strictly inside, away from the thresholds)."""
    lows = [c.threshold for c in conds if c.op in (">", ">=")]
    highs = [c.threshold for c in conds if c.op in ("<", "<=")]
    lo, hi = (max(lows) if lows else None), (min(highs) if highs else None)
    if lo is not None and hi is not None:
        assert lo < hi, f"contradictory conditions {conds}"
        return (lo + hi) / 2
    if lo is not None:
        return lo + max(1.0, abs(lo))
    return hi - max(1.0, abs(hi))


def _across(c: Condition) -> float:
    """The threshold itself for strict comparisons, the next float outward for >= / <=: just failing."""
    if c.op in (">", "<"):
        return c.threshold
    return math.nextafter(c.threshold, -math.inf if c.op == ">=" else math.inf)


@pytest.mark.parametrize("name", EXPERIMENTS.names())
def test_verdict_flips_just_across_each_threshold(name):
    criterion = EXPERIMENTS.get(name).criterion
    by_number: dict[str, list[Condition]] = {}
    for c in criterion.conditions:
        by_number.setdefault(c.number, []).append(c)
    good = {k: _inside(v) for k, v in by_number.items()}
    assert verdict_of(criterion, good) == "reproduced"
    n = len(criterion.conditions)
    for c in criterion.conditions:
        moved = dict(good, **{c.number: _across(c)})
        held = sum(x.holds(moved) for x in criterion.conditions)
        assert held == n - 1
        assert verdict_of(criterion, moved) == ("partly" if n > 1 else "not reproduced")
    bad = {c.number: _across(c) for c in criterion.conditions}
    if all(len(v) == 1 for v in by_number.values()):
        assert verdict_of(criterion, bad) == "not reproduced"
    assert verdict_of(criterion, {}) == "not reproduced"  # missing numbers fail


def test_criterion_rules():
    crit = Criterion((Condition("a", ">", 1.0), Condition("b", "<=", 0.0)))
    assert crit.verdict({"a": 2.0, "b": 0.0}) == "reproduced"
    assert crit.verdict({"a": 1.0, "b": 0.0}) == "partly"
    assert crit.verdict({"a": 1.0, "b": 1e-300}) == "not reproduced"
    assert crit.verdict({"a": float("nan"), "b": None}) == "not reproduced"
    assert crit.verdict({"a": float("inf"), "b": 0}) == "partly"  # non-finite numbers fail their condition
    assert crit.verdict({"a": True, "b": 0}) == "partly"  # a bool is not a number
    with pytest.raises(ValueError, match="op must be one of"):
        Condition("a", "==", 1.0)
    with pytest.raises(ValueError, match="threshold must be finite"):
        Condition("a", ">", float("nan"))
    with pytest.raises(ValueError, match="at least one condition"):
        Criterion(())


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    """Every available experiment's quick mode, run once for the module."""
    root = tmp_path_factory.mktemp("quick")
    return root, {name: EXPERIMENTS.get(name).run(root / name, seed=0, quick=True) for name in AVAILABLE}


@pytest.mark.parametrize("name", AVAILABLE)
def test_quick_mode_writes_result_and_real_figures(name, quick_results):
    root, results = quick_results
    result = results[name]
    data = json.loads((root / name / "result.json").read_text(encoding="utf-8"))
    assert data == result.to_json()
    assert {"verdict", "criterion", "numbers", "seed", "mode", "figures", "conditions"} <= set(data)
    assert data["seed"] == 0 and data["mode"] == "quick" and data["verdict"] in VERDICTS
    assert data["verdict"] == verdict_of(EXPERIMENTS.get(name).criterion, data["numbers"])
    assert data["agrees_with_notes"] == (data["verdict"] == "reproduced")
    text = (root / name / "result.json").read_text(encoding="utf-8")
    assert str(root) not in text and "/tmp" not in text  # no absolute paths
    assert data["figures"], "at least one figure"
    for fig in data["figures"]:
        img = mpimg.imread(root / name / fig)  # decodes: a real PNG
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert img.std() > 0  # not blank
    for key, value in data["numbers"].items():
        assert value is None or isinstance(value, float), key
    timed = [k for k in data["numbers"] if "time" in k]
    assert bool(timed) == EXPERIMENTS.get(name).timed


@pytest.mark.parametrize("name", ["zero-init-symmetry", "iou-loss-regression", "regularizers", "kernel-flops"])
def test_same_seed_gives_identical_file_apart_from_timings(name, tmp_path, quick_results):
    _, results = quick_results
    again = EXPERIMENTS.get(name).run(tmp_path / name, seed=0, quick=True).to_json()
    first = results[name].to_json()
    for d in (first, again):
        d["numbers"] = {k: v for k, v in d["numbers"].items() if "time" not in k}
        if EXPERIMENTS.get(name).timed:  # a verdict read from timings may differ between runs
            d.pop("verdict"), d.pop("agrees_with_notes"), d.pop("conditions")
    assert first == again


def test_another_seed_changes_numbers(tmp_path, quick_results):
    _, results = quick_results
    other = EXPERIMENTS.get("zero-init-symmetry").run(tmp_path, seed=1, quick=True)
    assert other.numbers != results["zero-init-symmetry"].numbers and other.seed == 1


def test_run_rejects_bad_arguments(tmp_path):
    e = EXPERIMENTS.get("softmax-overflow")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        e.run(tmp_path, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        e.run(tmp_path, seed=1.0)
    with pytest.raises(TypeError, match="quick must be a bool"):
        e.run(tmp_path, quick="yes")


def test_unavailable_experiment_says_what_it_needs(tmp_path):
    missing = [e for _, e in EXPERIMENTS.items() if e.requires is not None]
    for e in missing:
        assert "dlprimer detect" in e.requires
        with pytest.raises(ValueError, match="cannot run: needs dlprimer detect"):
            e.run(tmp_path)
    if not missing:  # the detection package is installed: the comparison runs like any other
        assert "anchor-free-vs-anchor-based" in AVAILABLE
