"""Every public registry is one ``dlprimer._registry.Registry``: each name builds, unknown names list the known.

(Every model name is built in ``tests/models/test_registry.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlprimer._registry import Registry
from dlprimer.augment import AUGMENTATIONS
from dlprimer.augment.registry import MULTI_SAMPLE
from dlprimer.metrics.ap import AP_METHODS
from dlprimer.metrics.classification import AVERAGES
from dlprimer.models import MODELS
from dlprimer.nn.init import INIT_SCHEMES, init_weights
from dlprimer.schedules import SCHEDULES, build_schedule

REGISTRIES = {
    "model": MODELS,
    "augmentation": AUGMENTATIONS,
    "schedule": SCHEDULES,
    "init scheme": INIT_SCHEMES,
    "AP method": AP_METHODS,
    "average": AVERAGES,
}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_unknown_name_lists_every_known_name(kind):
    reg = REGISTRIES[kind]
    assert isinstance(reg, Registry) and reg.kind == kind and len(reg) > 0
    with pytest.raises(ValueError, match=f"unknown {kind} 'no-such-name'; known {kind}s: ") as info:
        reg.get("no-such-name")
    assert str(info.value).endswith(", ".join(reg.names()))
    with pytest.raises(TypeError, match=f"{kind} name must be a str"):
        reg.get(3)
    with pytest.raises(ValueError, match="already registered"):
        reg.add(reg.names()[0], None)


def _sample() -> dict:
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 24, 32), dtype=torch.uint8, generator=g)
    return {"image": image, "boxes": torch.tensor([[2.0, 3.0, 20.0, 18.0]]), "labels": torch.tensor([1])}


@pytest.mark.parametrize("name", AUGMENTATIONS.names())
def test_every_augmentation_builds_and_runs(name):
    t = AUGMENTATIONS.create(name)
    g = torch.Generator().manual_seed(1)
    out = t([_sample() for _ in range(t.num_samples)], g) if name in MULTI_SAMPLE else t(_sample(), g)
    assert out["image"].ndim == 3 and out["boxes"].shape[-1] == 4


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_every_schedule_builds(name):
    s = build_schedule(name, 0.1, 50)
    assert all(np.isfinite(s(t)) and s(t) > 0 for t in range(50))


@pytest.mark.parametrize("name", INIT_SCHEMES.names())
def test_every_init_scheme_applies(name):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
    assert init_weights(net, name) is net
    assert torch.isfinite(net[0].weight).all()


@pytest.mark.parametrize("name", AP_METHODS.names())
def test_every_ap_method_on_a_perfect_curve_is_one(name):
    # interp101 (ultralytics) ends on the sentinel (1, 0): its last trapezoid of width 0.01 has height 1/2
    want = 1.0 - 0.01 / 2 if name == "interp101" else 1.0
    assert AP_METHODS.create(name, np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("name", AVERAGES.names())
def test_every_average_of_perfect_predictions_is_one(name):
    c = np.diag([3, 2, 4])
    assert AVERAGES.create(name, c, 0.0) == pytest.approx((1.0, 1.0, 1.0), abs=1e-15)
