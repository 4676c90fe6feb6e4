"""Fixtures for the metrics tests: the shared oracles of ``tests/oracles.py`` as fixtures."""

from __future__ import annotations

import pytest

from oracles import assert_same, run_pycocotools


@pytest.fixture
def pycoco():
    return run_pycocotools


@pytest.fixture
def same():
    return assert_same
