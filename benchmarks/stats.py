"""Medians, percentiles and spreads: the numbers a noisy machine allows us to quote."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, interquartile range, extremes and count of one sample."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p25": percentile(values, 25),
        "p75": percentile(values, 75),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
    }


def ratios(ours: Sequence[float], floor: Sequence[float]) -> list[float]:
    """Pairwise ratios of runs taken side by side (ours[i] was measured next to floor[i])."""
    return [a / b for a, b in zip(ours, floor, strict=True) if b > 0]


def spread(values: Sequence[float]) -> str:
    """The interquartile range as text, e.g. ``1.08-1.19``."""
    if not values:
        return "-"
    return f"{percentile(values, 25):.2f}-{percentile(values, 75):.2f}"
