"""Latency / throughput measurement: internal consistency and argument checks (times are never asserted).

Oracle for the work term: ``achieved GFLOP/s = 2·MACs per image × img/s`` with MACs from torch's
``FlopCounterMode`` (independent of our counter).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlprimer.analysis.speed import measure_speed


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def test_report_is_consistent() -> None:
    net = _tiny().train()
    rep = measure_speed(net, (1, 8, 8), batch_sizes=(1, 4), warmup=1, repeats=5, throughput_repeats=2)
    assert rep.device == "cpu" and rep.threads == torch.get_num_threads()
    assert 0 < rep.latency_ms_p50 <= rep.latency_ms_p90 <= rep.latency_ms_p99
    assert set(rep.throughput_by_batch) == {1, 4}
    assert rep.throughput_img_s == max(rep.throughput_by_batch.values())
    assert rep.throughput_by_batch[rep.best_batch_size] == rep.throughput_img_s
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 1, 8, 8))
    assert rep.gflops_per_image == pytest.approx(counter.get_total_flops() / 1e9, rel=1e-12)
    assert rep.achieved_gflop_s == pytest.approx(rep.gflops_per_image * rep.throughput_img_s, rel=1e-9)
    assert net.training  # mode restored
    assert set(rep.to_dict()) >= {"latency_ms_p50", "throughput_img_s", "achieved_gflop_s"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_timing_runs() -> None:
    rep = measure_speed(_tiny(), (1, 8, 8), device="cuda", batch_sizes=(1, 2), repeats=3)
    assert rep.device.startswith("cuda") and rep.latency_ms_p50 > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_unavailable_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cuda"):
        measure_speed(_tiny(), (1, 8, 8), device="cuda")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_sizes": ()}, "batch_sizes"),
        ({"batch_sizes": (0,)}, "batch_sizes"),
        ({"repeats": 0}, "repeats"),
        ({"warmup": -1}, "warmup"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        measure_speed(_tiny(), (1, 8, 8), **kwargs)


def test_meta_model_refused() -> None:
    with torch.device("meta"):
        net = _tiny()
    with pytest.raises(ValueError, match="meta"):
        measure_speed(net, (1, 8, 8))
