"""Plot data vs pycocotools' arrays, and the figure is written (atomically) to the path."""

from __future__ import annotations

import numpy as np
import pytest

from dlprimer.metrics.coco import evaluate
from dlprimer.metrics.coco.synthetic import make_coco
from dlprimer.metrics.plots import coco_curves, plot_coco_curves


def test_curves_are_pycocotools_slices(pycoco):
    gt, dt = make_coco(2, n_images=10, n_categories=3)
    res = evaluate(gt, dt)
    ev = pycoco(gt, dt)
    c = coco_curves(res, iou=0.5)
    assert c["precision"].shape == (3, 101)
    np.testing.assert_array_equal(c["precision"], ev.eval["precision"][0, :, :, 0, 2].T)
    np.testing.assert_array_equal(c["scores"], ev.eval["scores"][0, :, :, 0, 2].T)
    p, r = ev.eval["precision"][0, 60, 0, 0, 2], ev.params.recThrs[60]
    assert c["f1"][0, 60] == pytest.approx(2 * p * r / (p + r) if p + r > 0 else 0.0, abs=1e-12)
    with pytest.raises(ValueError, match="iou must be one of"):
        coco_curves(res, iou=0.33)


def test_plot_writes_png(tmp_path):
    gt, dt = make_coco(2, n_images=10, n_categories=3)
    out = tmp_path / "curves.png"
    plot_coco_curves(evaluate(gt, dt), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
