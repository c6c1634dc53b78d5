"""Order statistics of latency samples, in milliseconds for printing."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile: the smallest sample with ``fraction`` at
    or below it. With fewer than 100 samples the 99th percentile is the maximum."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """Median and 99th percentile of request latencies, and the throughput."""

    count: int
    median_ms: float
    p99_ms: float
    per_second: float

    @classmethod
    def of(cls, seconds: Sequence[float], elapsed: float) -> Summary:
        return cls(
            count=len(seconds),
            median_ms=statistics.median(seconds) * 1000,
            p99_ms=percentile(seconds, 0.99) * 1000,
            per_second=len(seconds) / elapsed,
        )
