"""The spread of what was measured: percentiles, and 95 % confidence intervals by a seeded bootstrap over
tasks, so a comparison says whether a difference is more than noise.

Samples are per completed task (its seconds, its bytes sent, its first turn's TTFT and its slowest
turn's TTFT, kept aligned so a task can be checked against every objective at once) and per successful
turn (its TTFT). A task is the unit of the bootstrap: the turns of one task are not independent, the
tasks of a closed loop nearly are. The bootstrap is seeded, so a report recomputed from the same
records prints the same intervals. Past ``BOOTSTRAP_MAX_N`` tasks the interval is the normal one
(mean +- 1.96 standard errors, the delta method for a ratio of means): there the bootstrap converges to
it, and resampling would hold a master's event loop for seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..core.records import TaskRecord, TurnRecord

RESAMPLES = 2000
SEED = 20251
BOOTSTRAP_MAX_N = 4000
Z95 = 1.959964
Interval = tuple[float, float]


class CiMethod(StrEnum):
    BOOTSTRAP = "bootstrap"  # percentile bootstrap over tasks, RESAMPLES resamples, seeded
    NORMAL = "normal"  # beyond BOOTSTRAP_MAX_N tasks


@dataclass
class Samples:
    """What a spread is computed from; two merge by concatenation (workers' or cells' pooled into a row)."""

    task_s: list[float] = field(default_factory=list)  # per completed task, aligned ...
    task_sent: list[float] = field(default_factory=list)
    task_ttft_first_ms: list[float | None] = field(default_factory=list)
    task_ttft_max_ms: list[float | None] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)  # per successful turn

    def add_turn(self, r: TurnRecord) -> None:
        if r.ok and r.ttft_ms is not None:
            self.ttft_ms.append(r.ttft_ms)

    def add_task(self, r: TaskRecord) -> None:
        if r.ok:
            self.task_s.append(r.duration_ms / 1000.0)
            self.task_sent.append(r.bytes_sent)
            self.task_ttft_first_ms.append(r.ttft_first_ms)
            self.task_ttft_max_ms.append(r.ttft_max_ms)

    @property
    def ttft_first_ms(self) -> list[float]:
        return [v for v in self.task_ttft_first_ms if v is not None]

    def merge(self, other: Samples | dict[str, Any]) -> Samples:
        data = other.as_dict() if isinstance(other, Samples) else other
        for k, v in data.items():
            if k in _FIELDS:  # (cells written by an older agentload have other keys: left out)
                getattr(self, k).extend(v)
        return self

    def take(self) -> Samples:
        """Everything so far, and this one emptied (a worker's report since its last)."""
        out = Samples().merge(self)
        for k in _FIELDS:
            getattr(self, k).clear()
        return out

    def as_dict(self) -> dict[str, list[Any]]:
        return {k: getattr(self, k) for k in _FIELDS}

    def since(self, earlier: Samples) -> Samples:
        """What was added after ``earlier`` (two reads of the same growing Samples)."""
        out = Samples()
        for k in _FIELDS:
            getattr(out, k).extend(getattr(self, k)[len(getattr(earlier, k)) :])
        return out


_FIELDS = ("task_s", "task_sent", "task_ttft_first_ms", "task_ttft_max_ms", "ttft_ms")


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


def _sem(values: Sequence[float]) -> float:
    """The standard error of the mean."""
    m, n = _mean(values), len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)


def _resampled_means(values: Sequence[float], rng: random.Random) -> list[float]:
    n = len(values)
    return [_mean(rng.choices(values, k=n)) for _ in range(RESAMPLES)]


def _interval(stats: list[float]) -> Interval:
    lo, hi = percentile(stats, 2.5), percentile(stats, 97.5)
    assert lo is not None and hi is not None
    return (lo, hi)


def ci_method(n: int) -> CiMethod:
    return CiMethod.BOOTSTRAP if n <= BOOTSTRAP_MAX_N else CiMethod.NORMAL


def mean_ci(values: Sequence[float], seed: int = SEED) -> Interval | None:
    """95 % interval of the mean; None below two samples."""
    if len(values) < 2:
        return None
    if ci_method(len(values)) == CiMethod.NORMAL:
        m, e = _mean(values), Z95 * _sem(values)
        return (m - e, m + e)
    return _interval(_resampled_means(values, random.Random(seed)))


def change_ci(values: Sequence[float], base: Sequence[float], seed: int = SEED) -> Interval | None:
    """95 % interval of ``1 - mean(values) / mean(base)`` (a reduction or speed-up against the
    baseline), both resampled independently, with the same seeds as their ``mean_ci``."""
    if len(values) < 2 or len(base) < 2:
        return None
    if ci_method(max(len(values), len(base))) == CiMethod.NORMAL:
        ma, mb = _mean(values), _mean(base)
        if not mb:
            return None
        r = ma / mb  # delta method: var(a/b) ~ r^2 (se_a^2 / a^2 + se_b^2 / b^2)
        se = abs(r) * math.sqrt((_sem(values) / ma) ** 2 + (_sem(base) / mb) ** 2) if ma else 0.0
        return (1 - r - Z95 * se, 1 - r + Z95 * se)
    a = _resampled_means(values, random.Random(seed))
    b = _resampled_means(base, random.Random(seed + 1))
    return _interval([1 - x / y for x, y in zip(a, b, strict=True) if y])


def spans_zero(ci: Interval | None) -> bool:
    return ci is not None and ci[0] <= 0 <= ci[1]


@dataclass
class TurnSamples:
    """Per task and turn index, each successful turn's bytes sent and TTFT: the per-turn charts, one
    task a chart (tasks of different lengths pooled by turn index would zig-zag), with their spread."""

    by_task: dict[str, dict[int, dict[str, list[float]]]] = field(default_factory=dict)

    def add_turn(self, r: TurnRecord) -> None:
        if not r.ok:
            return
        cell = self.by_task.setdefault(r.task, {}).setdefault(r.turn, {"sent": [], "ttft": []})
        cell["sent"].append(r.bytes_sent)
        if r.ttft_ms is not None:
            cell["ttft"].append(r.ttft_ms)

    def merge(self, other: TurnSamples | dict[str, Any]) -> TurnSamples:
        data = other.as_dict() if isinstance(other, TurnSamples) else other
        for task, turns in data.items():
            mine = self.by_task.setdefault(task, {})
            for turn, cell in turns.items():
                into = mine.setdefault(int(turn), {"sent": [], "ttft": []})
                for k in ("sent", "ttft"):
                    into[k].extend(cell.get(k, []))
        return self

    def as_dict(self) -> dict[str, Any]:
        return {task: {str(t): c for t, c in sorted(turns.items())} for task, turns in self.by_task.items()}

    def series(self, task: str, key: str, q: float | None = None) -> list[tuple[float, float]]:
        """(turn number, the mean, or the q-th percentile) for every turn of ``task`` that has one."""
        out = []
        for turn, cell in sorted(self.by_task.get(task, {}).items()):
            values = cell[key]
            if values:
                v = _mean(values) if q is None else percentile(values, q)
                assert v is not None
                out.append((float(turn + 1), v))
        return out


STAT_DRAWS = 8_000_000  # a statistic's bootstrap draws at most this many samples in all


def ratio_ci(
    values: Sequence[float], base: Sequence[float], stat: Callable[[Sequence[float]], float], seed: int = SEED
) -> Interval | None:
    """95 % interval of ``stat(values) / stat(base) - 1`` (a change against ``base``: a mean, a
    percentile), by a percentile bootstrap of both, seeded; fewer resamples (200 at least) where the
    samples are many."""
    n = max(len(values), len(base))
    if len(values) < 2 or len(base) < 2:
        return None
    resamples = max(200, min(RESAMPLES, STAT_DRAWS // n))
    ra, rb = random.Random(seed), random.Random(seed + 1)
    out = []
    for _ in range(resamples):
        b = stat(rb.choices(base, k=len(base)))
        if b:
            out.append(stat(ra.choices(values, k=len(values))) / b - 1)
    return _interval(out) if out else None
