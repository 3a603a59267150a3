"""The differences between two runs, figure by figure, with 95 % intervals, and the regression gate.

Every figure here is better lower. A change is B / A - 1 (+5 % means B's is 5 % higher: worse), its
interval a seeded bootstrap of both runs' samples (tasks for per-task figures, turns for TTFT).
``--fail-if-worse task_s=5%`` fails when B's figure is more than 5 % above A's.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import AgentloadError
from ..metrics.spread import Interval, Samples, percentile, ratio_ci

Stat = Callable[[Sequence[float]], float]


def _pct(q: float) -> Stat:
    def stat(values: Sequence[float]) -> float:
        v = percentile(values, q)
        assert v is not None
        return v

    return stat


# figure -> (the samples it is computed from, the statistic)
FIGURES: dict[str, tuple[str, Stat]] = {
    "task_s": ("task_s", statistics.fmean),
    "task_s_p50": ("task_s", _pct(50)),
    "task_s_p90": ("task_s", _pct(90)),
    "sent_per_task": ("task_sent", statistics.fmean),
    "ttft_mean_ms": ("ttft_ms", statistics.fmean),
    "ttft_p50_ms": ("ttft_ms", _pct(50)),
    "ttft_p90_ms": ("ttft_ms", _pct(90)),
    "ttft_p99_ms": ("ttft_ms", _pct(99)),
    "ttft_first_ms": ("ttft_first_ms", statistics.fmean),
}


@dataclass(frozen=True)
class Difference:
    label: str
    figure: str
    a: float | None
    b: float | None
    change: float | None  # b / a - 1
    ci: Interval | None
    tolerance: float | None = None  # --fail-if-worse, as a fraction

    @property
    def worse(self) -> bool:
        """Beyond the tolerance (a figure without one is never a failure)."""
        return self.tolerance is not None and self.change is not None and self.change > self.tolerance

    @property
    def significant(self) -> bool:
        return self.ci is not None and not (self.ci[0] <= 0 <= self.ci[1])

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "figure": self.figure,
            "a": self.a,
            "b": self.b,
            "change": self.change,
            "change_ci95": list(self.ci) if self.ci else None,
            "significant": self.significant,
            "tolerance": self.tolerance,
            "worse": self.worse,
        }


def parse_tolerances(text: str, flag: str = "--fail-if-worse") -> dict[str, float]:
    """``ttft_p99_ms=10%,task_s=5%`` into {figure: 0.10, ...}."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in FIGURES:
            raise AgentloadError(
                f"{flag}: {part!r} is not FIGURE=N% with a known figure (use: {', '.join(FIGURES)})"
            )
        try:
            tol = float(value.removesuffix("%")) / 100
        except ValueError:
            raise AgentloadError(
                f"{flag}: {part!r}: give the tolerance as a percentage, e.g. {name}=5%"
            ) from None
        if not value.endswith("%") or tol < 0:
            raise AgentloadError(
                f"{flag}: {part!r}: give the tolerance as a percentage of 0 or more, e.g. {name}=5%"
            )
        out[name] = tol
    return out


def differences(label: str, a: Samples, b: Samples, tolerances: dict[str, float]) -> list[Difference]:
    out = []
    for figure, (key, stat) in FIGURES.items():
        va, vb = getattr(a, key), getattr(b, key)
        xa = stat(va) if va else None
        xb = stat(vb) if vb else None
        change = xb / xa - 1 if xa and xb is not None else None
        out.append(Difference(label, figure, xa, xb, change, ratio_ci(vb, va, stat), tolerances.get(figure)))
    return out
