"""The spread of what was measured: percentiles, and 95 % confidence intervals by a seeded bootstrap over
tasks, so a comparison says whether a difference is more than noise.

Samples are per completed task (its seconds, its bytes sent, its first turn's TTFT) and per successful
turn (its TTFT). A task is the unit of the bootstrap: the turns of one task are not independent, the
tasks of a closed loop nearly are. The bootstrap is seeded, so a report recomputed from the same
records prints the same intervals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

RESAMPLES = 2000
SEED = 20251
Interval = tuple[float, float]


@dataclass
class Samples:
    """What a spread is computed from; two merge by concatenation (cells pooled into a row)."""

    task_s: list[float] = field(default_factory=list)
    task_sent: list[float] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)
    ttft_first_ms: list[float] = field(default_factory=list)

    def merge(self, other: Samples | dict[str, Any]) -> Samples:
        data = other.as_dict() if isinstance(other, Samples) else other
        for k, v in data.items():
            getattr(self, k).extend(v)
        return self

    def as_dict(self) -> dict[str, list[float]]:
        return {
            "task_s": self.task_s,
            "task_sent": self.task_sent,
            "ttft_ms": self.ttft_ms,
            "ttft_first_ms": self.ttft_first_ms,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the two nearest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _resampled_means(values: Sequence[float], rng: random.Random) -> list[float]:
    n = len(values)
    return [_mean(rng.choices(values, k=n)) for _ in range(RESAMPLES)]


def _interval(stats: list[float]) -> Interval:
    lo, hi = percentile(stats, 2.5), percentile(stats, 97.5)
    assert lo is not None and hi is not None
    return (lo, hi)


def mean_ci(values: Sequence[float], seed: int = SEED) -> Interval | None:
    """95 % interval of the mean (percentile bootstrap); None below two samples."""
    if len(values) < 2:
        return None
    return _interval(_resampled_means(values, random.Random(seed)))


def change_ci(values: Sequence[float], base: Sequence[float], seed: int = SEED) -> Interval | None:
    """95 % interval of ``1 - mean(values) / mean(base)`` (a reduction or speed-up against the
    baseline), both resampled independently, with the same seeds as their ``mean_ci``."""
    if len(values) < 2 or len(base) < 2:
        return None
    a = _resampled_means(values, random.Random(seed))
    b = _resampled_means(base, random.Random(seed + 1))
    return _interval([1 - x / y for x, y in zip(a, b, strict=True) if y])


def spans_zero(ci: Interval | None) -> bool:
    return ci is not None and ci[0] <= 0 <= ci[1]


def scaled(ci: Interval | None, f: Callable[[float], float]) -> Interval | None:
    return None if ci is None else (f(ci[0]), f(ci[1]))
