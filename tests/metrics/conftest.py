"""Fixtures for the metrics tests: running pycocotools quietly as the oracle."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest


def run_pycocotools(gt: dict, dt: list, **params) -> object:
    """pycocotools' COCOeval (bbox) on deep copies (it mutates its inputs), prints suppressed.

    ``params`` set ``COCOeval.params`` attributes (``iouThrs``, ``maxDets``, ``areaRng``...).
    The captured printout is stored as ``.printed``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        res = coco.loadRes(copy.deepcopy(dt))
        ev = COCOeval(coco, res, "bbox")
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        start = len(out.getvalue())
        ev.summarize()
    ev.printed = out.getvalue()[start:]
    return ev


@pytest.fixture
def pycoco():
    return run_pycocotools


def assert_same(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    """Exact equality of two float arrays, with a readable diff on failure."""
    assert ours.shape == theirs.shape, f"{what}: shape ours {ours.shape} vs pycocotools {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype ours {ours.dtype} vs pycocotools {theirs.dtype}"
    bad = np.argwhere(ours != theirs)
    assert bad.size == 0, (
        f"{what}: {len(bad)} entries differ, first at {tuple(bad[0])}: "
        f"ours {ours[tuple(bad[0])]!r} vs pycocotools {theirs[tuple(bad[0])]!r}"
    )


@pytest.fixture
def same():
    return assert_same
