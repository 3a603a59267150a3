"""Service-level objectives and goodput: ``--slo ttft_p99_ms=2000,task_s_p90=60``.

Each objective bounds one figure of a comparison row from above (every figure here is better lower)
and is evaluated per strategy and per sweep cell: a run or a sweep with a failing objective exits 1,
the gate k6 users know as thresholds. Each objective also binds every task: a task meets ``task_s_*``
when it took no longer, ``ttft_first_*`` when its first turn's TTFT was no longer, and ``ttft_*`` when
none of its turns' TTFT was longer. Goodput is the completed tasks that met every objective, per
second, as AIPerf, GuideLLM and vLLM's benchmark report it against their SLOs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..core.errors import AgentloadError
from .spread import Samples


class Bound(StrEnum):
    """Which per-task figure an objective binds."""

    TASK_S = "task_s"
    TTFT_FIRST = "ttft_first"
    TTFT_ANY = "ttft_any"
    NONE = "none"  # a share over the run: no task meets or misses it alone


# the figures an objective can bound, and what each binds per task
METRICS: dict[str, Bound] = {
    "ttft_mean_ms": Bound.TTFT_ANY,
    "ttft_p50_ms": Bound.TTFT_ANY,
    "ttft_p90_ms": Bound.TTFT_ANY,
    "ttft_p99_ms": Bound.TTFT_ANY,
    "ttft_first_ms": Bound.TTFT_FIRST,
    "ttft_first_p50_ms": Bound.TTFT_FIRST,
    "ttft_first_p90_ms": Bound.TTFT_FIRST,
    "ttft_first_p99_ms": Bound.TTFT_FIRST,
    "task_s": Bound.TASK_S,
    "task_s_p50": Bound.TASK_S,
    "task_s_p90": Bound.TASK_S,
    "failed_task_share": Bound.NONE,
}


@dataclass(frozen=True)
class Objective:
    metric: str
    limit: float

    @property
    def bound(self) -> Bound:
        return METRICS[self.metric]

    def __str__(self) -> str:
        return f"{self.metric}<={self.limit:g}"


@dataclass(frozen=True)
class Verdict:
    """One objective evaluated on one row."""

    metric: str
    limit: float
    value: float | None  # None: nothing measured, which fails
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "limit": self.limit, "value": self.value, "met": self.met}


def parse_slo(text: str, flag: str = "--slo") -> tuple[Objective, ...]:
    """``METRIC=LIMIT,...`` into objectives; a bad one is an error naming it and the fix."""
    out: list[Objective] = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in METRICS:
            raise AgentloadError(
                f"{flag}: {part!r} is not METRIC=LIMIT with a known metric (use: {', '.join(METRICS)})"
            )
        try:
            limit = float(value)
        except ValueError:
            raise AgentloadError(f"{flag}: {part!r}: the limit {value!r} is not a number") from None
        if limit < 0 or limit != limit:
            raise AgentloadError(f"{flag}: {part!r}: the limit must be 0 or more")
        out.append(Objective(name, limit))
    return tuple(out)


def _task_meets(s: Samples, i: int, objectives: tuple[Objective, ...]) -> bool:
    for o in objectives:
        if o.bound == Bound.TASK_S:
            v: float | None = s.task_s[i]
        elif o.bound == Bound.TTFT_FIRST:
            v = s.task_ttft_first_ms[i]
        elif o.bound == Bound.TTFT_ANY:
            v = s.task_ttft_max_ms[i]
        else:
            continue
        if v is None or v > o.limit:
            return False
    return True


def good_tasks(s: Samples, objectives: tuple[Objective, ...]) -> int:
    """Completed tasks that met every per-task objective."""
    return sum(1 for i in range(len(s.task_s)) if _task_meets(s, i, objectives))


def verdicts(values: dict[str, float | None], objectives: tuple[Objective, ...]) -> tuple[Verdict, ...]:
    out = []
    for o in objectives:
        v = values.get(o.metric)
        out.append(Verdict(o.metric, o.limit, v, v is not None and v <= o.limit))
    return tuple(out)
