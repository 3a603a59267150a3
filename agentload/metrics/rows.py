"""The comparison: one typed row per strategy (or per strategy and link), computed from Totals.

The end-of-run summary, the web UI's Agents tab, a sweep's report and its cells all read their figures
from ``ComparisonRow``; reductions and speed-ups are against the baseline strategy's row of the same
link (core.strategies.BASELINE).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..core.link import link_order
from ..core.strategies import BASELINE, order
from .slo import Objective, Verdict, good_tasks, verdicts
from .spread import Interval, Samples, change_ci, ci_method, mean_ci, percentile
from .totals import Totals


@dataclass(frozen=True)
class Exposure:
    """How much agent time a group's Totals cover (a sweep's measured windows), for rates per agent."""

    agent_s: float  # the sum over cells of window seconds x agents
    cells: int = 1


@dataclass(frozen=True)
class Group:
    """One row's input: a label, its strategy, its Totals, and (in a sweep) its link and exposure."""

    strategy: str
    totals: Totals
    link: str = ""  # the link's text (core.link), when a sweep varied it; "" for none
    exposure: Exposure | None = None
    samples: Samples | None = None  # per task and per turn: percentiles, intervals, goodput
    seconds: float | None = None  # the time the Totals cover (a run's, or a sweep's windows): goodput
    compression: str = ""  # a sweep's compression variant ("deflate+gzip"); "" for none

    @property
    def label(self) -> str:
        up = f" @ {self.link}" if self.link else ""
        return self.strategy + up + (f" [{self.compression}]" if self.compression else "")


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    strategy: str
    link: str
    compression: str  # a sweep's compression variant, "" for none
    tasks: int  # completed tasks: every per-task figure is over these
    failed_tasks: int
    tasks_interrupted: int
    turns: int  # attempts that ended, ok or failed
    turns_started: int
    turns_interrupted: int
    turn_failures: int
    turns_per_task: float | None
    sent_per_task: float | None
    received_per_task: float | None
    payload_sent_per_task: float | None  # before compression (equal but for framing when none)
    payload_received_per_task: float | None
    sent_reduction: float | None  # 1 - sent / the baseline's (0.85: 85 % fewer bytes sent)
    sent_by_turn: tuple[float | None, ...]  # mean bytes sent at turn i (ok turns)
    turn1_sent: float | None
    turn9_sent: float | None
    ttft_mean_ms: float | None
    ttft_first_ms: float | None
    task_s: float | None
    speedup: float | None  # 1 - time / the baseline's
    cached_share: float | None  # over the turns whose usage is known; None: none is
    recoveries: int
    retries: int
    events: int
    rate_limited: int
    failures: dict[str, int]
    sessions_dropped: int
    usage_unknown_turns: int = 0  # ok turns whose server reported no usage: tokens unknown, not 0
    # with an exposure (sweeps)
    cells: int | None = None
    sent_per_turn: float | None = None  # every attempt's bytes over ok turns
    turns_per_agent_s: float | None = None  # turns per second of an agent's working time
    sent_per_agent_s: float | None = None  # bytes sent per second of an agent's working time
    projection_gbps: float | None = None  # ingress for the projection's agent count
    # with samples (sweeps): percentiles, and 95 % intervals by a seeded bootstrap over tasks
    ttft_p50_ms: float | None = None
    ttft_p90_ms: float | None = None
    ttft_p99_ms: float | None = None
    ttft_first_p50_ms: float | None = None
    ttft_first_p90_ms: float | None = None
    ttft_first_p99_ms: float | None = None
    task_s_p50: float | None = None
    task_s_p90: float | None = None
    task_s_ci95: Interval | None = None
    sent_per_task_ci95: Interval | None = None
    speedup_ci95: Interval | None = None
    sent_reduction_ci95: Interval | None = None
    ci_method: str | None = None
    failed_task_share: float | None = None  # failed / (completed + failed) tasks
    # with objectives (--slo): each evaluated on this row, and the tasks that met all of them
    slo: tuple[Verdict, ...] | None = None
    slo_met: bool | None = None
    good_tasks: int | None = None
    goodput_tasks_per_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sent_by_turn"] = list(self.sent_by_turn)
        for k, v in d.items():
            if k.endswith("_ci95") and v is not None:
                d[k] = list(v)
        d["slo"] = [v.as_dict() for v in self.slo] if self.slo is not None else None
        return d

    @property
    def failed_objectives(self) -> list[str]:
        return [str(v.metric) for v in self.slo or () if not v.met]


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def _reduction(value: float | None, base: float | None) -> float | None:
    return 1 - value / base if value is not None and base else None


def _spread(s: Samples | None, base: Samples | None) -> dict[str, Any]:
    if s is None:
        return {}
    out: dict[str, Any] = {
        "ttft_p50_ms": percentile(s.ttft_ms, 50),
        "ttft_p90_ms": percentile(s.ttft_ms, 90),
        "ttft_p99_ms": percentile(s.ttft_ms, 99),
        "ttft_first_p50_ms": percentile(s.ttft_first_ms, 50),
        "ttft_first_p90_ms": percentile(s.ttft_first_ms, 90),
        "ttft_first_p99_ms": percentile(s.ttft_first_ms, 99),
        "task_s_p50": percentile(s.task_s, 50),
        "task_s_p90": percentile(s.task_s, 90),
        "task_s_ci95": mean_ci(s.task_s),
        "sent_per_task_ci95": mean_ci(s.task_sent),
        "ci_method": ci_method(len(s.task_s)).value,
    }
    if base is not None:
        out["speedup_ci95"] = change_ci(s.task_s, base.task_s)
        out["sent_reduction_ci95"] = change_ci(s.task_sent, base.task_sent)
    return out


def _objectives(row: ComparisonRow, group: Group, objectives: tuple[Objective, ...]) -> dict[str, Any]:
    if not objectives:
        return {}
    found = verdicts({o.metric: getattr(row, o.metric) for o in objectives}, objectives)
    good = good_tasks(group.samples, objectives) if group.samples is not None else None
    return {
        "slo": found,
        "slo_met": all(v.met for v in found),
        "good_tasks": good,
        "goodput_tasks_per_s": good / group.seconds if good is not None and group.seconds else None,
    }


def row_of(
    group: Group,
    base: Totals | None,
    projection_agents: int | None = None,
    base_samples: Samples | None = None,
    objectives: tuple[Objective, ...] = (),
) -> ComparisonRow:
    row = _row(group, base, projection_agents, base_samples)
    return replace(row, **_objectives(row, group, objectives)) if objectives else row


def _row(
    group: Group,
    base: Totals | None,
    projection_agents: int | None,
    base_samples: Samples | None,
) -> ComparisonRow:
    t = group.totals
    n = t.tasks_ok
    sent = _div(t.task_sent, n)
    ms = _div(t.task_ms, n)
    base_sent = _div(base.task_sent, base.tasks_ok) if base is not None else None
    base_ms = _div(base.task_ms, base.tasks_ok) if base is not None else None
    by_turn = tuple(t.mean_turn_sent(i) for i in range(t.depth))
    exp = group.exposure
    # Rates per agent from the agents' own time: bytes and turns of the completed tasks over the time
    # those tasks took. (Counting a window's tasks over the window's length quantizes: every strategy
    # that finished the same number of tasks got the same turn rate, whatever its speed.)
    busy_s = t.task_ms / 1000.0
    per_agent = _div(t.task_sent, busy_s) if exp else None
    return ComparisonRow(
        label=group.label,
        strategy=group.strategy,
        link=group.link,
        compression=group.compression,
        tasks=n,
        failed_tasks=t.tasks_failed,
        tasks_interrupted=t.tasks_interrupted,
        turns=t.turn_attempts,
        turns_started=t.turns_started,
        turns_interrupted=t.turns_interrupted,
        turn_failures=t.turns_failed,
        turns_per_task=_div(t.task_turns, n),
        sent_per_task=sent,
        received_per_task=_div(t.task_received, n),
        # (Totals written before payload bytes were counted have none: not measured, not zero)
        payload_sent_per_task=_div(t.task_payload_sent, n) if t.task_payload_sent else None,
        payload_received_per_task=_div(t.task_payload_received, n) if t.task_payload_received else None,
        sent_reduction=_reduction(sent, base_sent),
        sent_by_turn=by_turn,
        turn1_sent=t.mean_turn_sent(0),
        turn9_sent=t.mean_turn_sent(8),
        ttft_mean_ms=_div(t.ttft_ms_sum, t.ttft_n),
        ttft_first_ms=_div(t.first_ttft_ms_sum, t.first_ttft_n),
        task_s=ms / 1000 if ms is not None else None,
        speedup=_reduction(ms, base_ms),
        cached_share=_div(t.cached_tokens, t.input_tokens),
        usage_unknown_turns=t.turns_usage_unknown,
        recoveries=t.recoveries,
        retries=t.retries,
        events=t.events,
        rate_limited=t.rate_limited,
        sessions_dropped=t.sessions_dropped,
        failures=dict(t.failures),
        failed_task_share=_div(t.tasks_failed, t.tasks_ok + t.tasks_failed),
        cells=exp.cells if exp else None,
        sent_per_turn=_div(t.sent, t.turns_ok) if exp else None,
        turns_per_agent_s=_div(t.task_turns, busy_s) if exp else None,
        sent_per_agent_s=per_agent,
        projection_gbps=per_agent * 8 * projection_agents / 1e9
        if per_agent is not None and projection_agents
        else None,
        **_spread(group.samples, base_samples if base is not None else None),
    )


def comparison(
    groups: list[Group],
    projection_agents: int | None = None,
    objectives: tuple[Objective, ...] = (),
    baseline: str = BASELINE,
) -> list[ComparisonRow]:
    """One row per group, in (compression, link, strategy) order, each against the baseline of its
    link and compression (the baseline itself is compared with nothing). Links come in the order of
    what they cost a request (core.link.link_order: no link first, then by round trip)."""
    ordered = sorted(groups, key=lambda g: (g.compression, link_order(g.link), order(g.strategy)))
    bases = {(g.link, g.compression): g for g in ordered if g.strategy == baseline}
    rows = []
    for g in ordered:
        b = None if g.strategy == baseline else bases.get((g.link, g.compression))
        rows.append(
            row_of(g, b.totals if b else None, projection_agents, b.samples if b else None, objectives)
        )
    return rows
