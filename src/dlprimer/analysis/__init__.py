"""Analysis of models: output sizes and receptive fields, complexity (params / MACs / FLOPs), speed.

* :mod:`~dlprimer.analysis.shapes` — conv/pool output-size formulas and the one-layer RF recursion.
* :mod:`~dlprimer.analysis.receptive_field` — RF size, jump and start of every layer of any model.
* :mod:`~dlprimer.analysis.rf_gradient` — the gradient-based RF measurement (independent check).
* :mod:`~dlprimer.analysis.complexity` — per-layer params, MACs, FLOPs (= 2·MACs), other ops, memory.
* :mod:`~dlprimer.analysis.speed` — latency p50/p90/p99 and throughput (img/s), achieved GFLOP/s.
"""

from dlprimer.analysis.complexity import ComplexityTable, LayerStats, profile
from dlprimer.analysis.receptive_field import profile_with_receptive_fields, receptive_fields
from dlprimer.analysis.rf_gradient import gradient_receptive_field
from dlprimer.analysis.shapes import conv_output_size, pool_output_size, receptive_field_chain
from dlprimer.analysis.speed import SpeedReport, measure_speed

__all__ = [
    "ComplexityTable",
    "LayerStats",
    "SpeedReport",
    "conv_output_size",
    "gradient_receptive_field",
    "measure_speed",
    "pool_output_size",
    "profile",
    "profile_with_receptive_fields",
    "receptive_field_chain",
    "receptive_fields",
]
