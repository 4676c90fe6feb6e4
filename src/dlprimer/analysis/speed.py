"""Latency and throughput of a model (the notes' "延迟Latency和吞吐量Throughput的介绍").

* **Latency**: time from request to answer for one input (batch 1), reported as the p50 / p90 / p99
  percentiles in milliseconds over ``repeats`` timed runs after ``warmup`` untimed ones.
* **Throughput**: the most inputs per second (img/s) over a sweep of batch sizes; the best batch size
  is reported. Larger batches use the hardware better (higher throughput) at a higher latency.
* **Achieved GFLOP/s** = ``flops per image × img/s / 1e9`` with ``flops = 2·MACs`` from
  :mod:`dlprimer.analysis.complexity` (the notes' FLOPS: operations per second).

On CUDA every timed run is bracketed by ``torch.cuda.synchronize()`` (kernels are asynchronous).
Runs under ``torch.inference_mode()`` in eval mode; the model's mode is restored afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dlprimer._checks import is_int_like
from dlprimer.analysis.complexity import parse_input_shape, profile


@dataclass
class SpeedReport:
    """Latency in milliseconds (batch 1), throughput in img/s, achieved GFLOP/s."""

    device: str
    latency_ms_p50: float
    latency_ms_p90: float
    latency_ms_p99: float
    throughput_img_s: float
    best_batch_size: int
    throughput_by_batch: dict[int, float]
    gflops_per_image: float
    achieved_gflop_s: float
    threads: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_runs(model: nn.Module, x: torch.Tensor, warmup: int, repeats: int) -> np.ndarray:
    device = x.device
    for _ in range(warmup):
        model(x)
    _sync(device)
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        model(x)
        _sync(device)
        times[i] = time.perf_counter() - t0
    return times  # [repeats] seconds


def measure_speed(
    model: nn.Module,
    input_shape: Sequence[int] | str,
    device: str | torch.device = "cpu",
    batch_sizes: Sequence[int] = (1, 2, 4, 8, 16),
    warmup: int = 3,
    repeats: int = 10,
    throughput_repeats: int = 3,
) -> SpeedReport:
    """Latency (batch 1) and throughput (best of ``batch_sizes``) of ``model`` on ``device``.

    The model is moved to ``device`` with ``.to`` (a meta-device model is refused: it has no weights).
    Throughput at batch ``b`` is ``b / median time`` of ``throughput_repeats`` runs.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked but torch.cuda.is_available() is False")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if any(p.is_meta for p in model.parameters()):
        raise ValueError("model is on the meta device (no weights); build it on cpu to time it")
    if not batch_sizes or any(not is_int_like(b) or b < 1 for b in batch_sizes):
        raise ValueError(f"batch_sizes must be positive ints, got {batch_sizes!r}")
    for name, value, least in (
        ("warmup", warmup, 0),
        ("repeats", repeats, 1),
        ("throughput_repeats", throughput_repeats, 1),
    ):
        if not is_int_like(value) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    dims = parse_input_shape(input_shape)
    net = model.to(dev)
    flops_per_image = profile(net, dims).total.flops  # one traced forward pass
    was_training = net.training
    net.eval()
    dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)
    try:
        with torch.inference_mode():
            x1 = torch.randn((1, *dims), device=dev, dtype=dtype)
            lat = _time_runs(net, x1, warmup, repeats) * 1e3  # [repeats] ms
            by_batch: dict[int, float] = {}
            for b in batch_sizes:
                xb = torch.randn((b, *dims), device=dev, dtype=dtype)
                times = _time_runs(net, xb, 1, throughput_repeats)
                by_batch[int(b)] = float(b / np.median(times))
    finally:
        net.train(was_training)
    best = max(by_batch, key=lambda b: by_batch[b])
    return SpeedReport(
        device=str(dev),
        latency_ms_p50=float(np.percentile(lat, 50)),
        latency_ms_p90=float(np.percentile(lat, 90)),
        latency_ms_p99=float(np.percentile(lat, 99)),
        throughput_img_s=by_batch[best],
        best_batch_size=best,
        throughput_by_batch=by_batch,
        gflops_per_image=flops_per_image / 1e9,
        achieved_gflop_s=flops_per_image * by_batch[best] / 1e9,
        threads=torch.get_num_threads(),
    )
