"""Evaluation parameters shared by the three phases: thresholds, caps, area ranges (validated once)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["STANDARD_AREAS", "EvalParams", "default_iou_thresholds", "default_rec_thresholds"]

STANDARD_AREAS: dict[str, tuple[float, float]] = {
    "all": (0.0**2, 1e5**2),
    "small": (0.0**2, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}


def default_iou_thresholds() -> NDArray[np.float64]:
    """``[0.50, 0.55, ..., 0.95]`` built exactly as pycocotools (``np.linspace``, not ``arange``)."""
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def default_rec_thresholds() -> NDArray[np.float64]:
    """The 101 recall points ``[0.00, 0.01, ..., 1.00]`` built exactly as pycocotools."""
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass(frozen=True)
class EvalParams:
    """What the phases need to know. Axes of the result arrays: ``T = len(iou_thresholds)``,
    ``R = len(rec_thresholds)``, ``A = len(area_ranges)``, ``M = len(max_dets)`` (sorted ascending)."""

    iou_thresholds: NDArray[np.float64]
    rec_thresholds: NDArray[np.float64]
    max_dets: tuple[int, ...]
    area_ranges: dict[str, tuple[float, float]]
    compat_gt_id_zero: bool = False

    @property
    def area_array(self) -> NDArray[np.float64]:
        """``[A, 2]`` inclusive ``(lo, hi)`` per area range."""
        return np.array(list(self.area_ranges.values()), dtype=np.float64).reshape(-1, 2)

    @classmethod
    def build(
        cls,
        iou_thresholds: ArrayLike | None = None,
        rec_thresholds: ArrayLike | None = None,
        max_dets: Sequence[int] = (1, 10, 100),
        area_ranges: Mapping | Sequence | None = None,
        compat_gt_id_zero: bool = False,
    ) -> EvalParams:
        """Validate user arguments (``None`` = pycocotools' default) into :class:`EvalParams`."""
        return cls(
            _thresholds(iou_thresholds, default_iou_thresholds(), "iou_thresholds"),
            _thresholds(rec_thresholds, default_rec_thresholds(), "rec_thresholds"),
            _max_dets(max_dets),
            _area_ranges(area_ranges),
            bool(compat_gt_id_zero),
        )


def _area_ranges(area_ranges: Mapping | Sequence | None) -> dict[str, tuple[float, float]]:
    if area_ranges is None:
        return dict(STANDARD_AREAS)
    if isinstance(area_ranges, Mapping):
        items = [(str(k), v) for k, v in area_ranges.items()]
    else:
        items = [(f"range{i}", v) for i, v in enumerate(area_ranges)]
    if not items:
        raise ValueError("area_ranges must hold at least one (lo, hi) range, got none")
    out = {}
    for name, v in items:
        lo_hi = np.asarray(v, dtype=np.float64)
        if lo_hi.shape != (2,) or not np.all(np.isfinite(lo_hi) | (lo_hi == np.inf)) or lo_hi[0] > lo_hi[1]:
            raise ValueError(f"area_ranges[{name!r}] must be (lo, hi) with lo <= hi, got {v!r}")
        out[name] = (float(lo_hi[0]), float(lo_hi[1]))
    if not isinstance(area_ranges, Mapping) and list(out.values()) == list(STANDARD_AREAS.values()):
        return dict(STANDARD_AREAS)  # pycocotools' own list: keep its labels and the 12-number layout
    return out


def _thresholds(values: ArrayLike | None, default: NDArray, name: str) -> NDArray[np.float64]:
    if values is None:
        return default
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all((arr >= 0) & (arr <= 1)) or np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be a non-empty increasing sequence in [0, 1], got {values!r}")
    return arr


def _max_dets(values: Sequence[int]) -> tuple[int, ...]:
    try:
        items = list(values)
    except TypeError:
        raise TypeError(f"max_dets must be a sequence of positive integers, got {values!r}") from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise TypeError(f"max_dets must be a sequence of positive integers, got {values!r}")
    dets = [int(v) for v in items]
    if not dets or min(dets) < 1 or len(set(dets)) != len(dets):
        raise ValueError(f"max_dets must be distinct positive integers, got {values!r}")
    return tuple(sorted(dets))
