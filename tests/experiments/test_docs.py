"""docs/errata.md and docs/concepts.md: every piece of evidence they name exists in the repository."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from dlprimer.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[2]
DOCS = {name: (ROOT / "docs" / name).read_text(encoding="utf-8") for name in ("errata.md", "concepts.md")}
HAS_DETECTION = importlib.util.find_spec("dlprimer.models.detection") is not None


def _resolve(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_named_modules_and_functions_exist(doc):
    names = set(re.findall(r"`(dlprimer(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", DOCS[doc]))
    assert names
    for name in sorted(names):
        if name.startswith("dlprimer.models.detection") and not HAS_DETECTION:
            continue
        assert _resolve(name), name


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_named_tests_exist(doc):
    refs = re.findall(r"`(tests/[\w/]+(?:\.py)?)(?:::(\w+))?`?", DOCS[doc])
    assert refs
    for path, func in refs:
        target = ROOT / path
        assert target.exists(), path
        if func:
            assert re.search(rf"def {func}\b", target.read_text(encoding="utf-8")), f"{path}::{func}"


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_named_experiments_exist(doc):
    candidates = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9.]+)+)`", DOCS[doc]))
    named = {c for c in candidates if not c.startswith(("dlprimer", "tests"))}
    assert named
    unknown = sorted(named - set(EXPERIMENTS.names()))
    assert not unknown, unknown


def test_errata_entries_each_have_evidence():
    entries = re.split(r"\n\*\*\d+\. ", DOCS["errata.md"])[1:]
    assert len(entries) >= 22
    for entry in entries:
        assert "*Evidence:*" in entry, entry[:80]


def test_concept_map_lists_every_experiment():
    missing = [n for n in EXPERIMENTS.names() if f"`{n}`" not in DOCS["concepts.md"]]
    assert not missing, missing
