"""The comparison: one typed row per strategy (or per strategy and uplink), computed from Totals.

The end-of-run summary, the web UI's Agents tab, a sweep's report and its cells all read their figures
from ``ComparisonRow``; reductions and speed-ups are against the baseline strategy's row of the same
uplink (core.strategies.BASELINE).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..core.strategies import BASELINE, order
from .totals import Totals


@dataclass(frozen=True)
class Exposure:
    """How much agent time a group's Totals cover (a sweep's measured windows), for rates per agent."""

    agent_s: float  # the sum over cells of window seconds x agents
    cells: int = 1


@dataclass(frozen=True)
class Group:
    """One row's input: a label, its strategy, its Totals, and (in a sweep) its uplink and exposure."""

    strategy: str
    totals: Totals
    uplink_kbps: float = 0.0
    exposure: Exposure | None = None

    @property
    def label(self) -> str:
        return self.strategy + (f" @ {self.uplink_kbps:g} kbit/s" if self.uplink_kbps else "")


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    strategy: str
    uplink_kbps: float
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
    sent_reduction: float | None  # 1 - sent / the baseline's (0.85: 85 % fewer bytes sent)
    sent_by_turn: tuple[float | None, ...]  # mean bytes sent at turn i (ok turns)
    turn1_sent: float | None
    turn9_sent: float | None
    ttft_mean_ms: float | None
    ttft_first_ms: float | None
    task_s: float | None
    speedup: float | None  # 1 - time / the baseline's
    cached_share: float | None
    recoveries: int
    retries: int
    events: int
    rate_limited: int
    failures: dict[str, int]
    # with an exposure (sweeps)
    cells: int | None = None
    sent_per_turn: float | None = None  # every attempt's bytes over ok turns
    turns_per_agent_s: float | None = None
    sent_per_agent_s: float | None = None
    projection_gbps: float | None = None  # ingress for the projection's agent count

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sent_by_turn"] = list(self.sent_by_turn)
        return d


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def _reduction(value: float | None, base: float | None) -> float | None:
    return 1 - value / base if value is not None and base else None


def row_of(group: Group, base: Totals | None, projection_agents: int | None = None) -> ComparisonRow:
    t = group.totals
    n = t.tasks_ok
    sent = _div(t.task_sent, n)
    ms = _div(t.task_ms, n)
    base_sent = _div(base.task_sent, base.tasks_ok) if base is not None else None
    base_ms = _div(base.task_ms, base.tasks_ok) if base is not None else None
    by_turn = tuple(t.mean_turn_sent(i) for i in range(t.depth))
    exp = group.exposure
    per_agent = _div(t.sent, exp.agent_s) if exp else None
    return ComparisonRow(
        label=group.label,
        strategy=group.strategy,
        uplink_kbps=group.uplink_kbps,
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
        sent_reduction=_reduction(sent, base_sent),
        sent_by_turn=by_turn,
        turn1_sent=t.mean_turn_sent(0),
        turn9_sent=t.mean_turn_sent(8),
        ttft_mean_ms=_div(t.ttft_ms_sum, t.ttft_n),
        ttft_first_ms=_div(t.first_ttft_ms_sum, t.first_ttft_n),
        task_s=ms / 1000 if ms is not None else None,
        speedup=_reduction(ms, base_ms),
        cached_share=_div(t.cached_tokens, t.input_tokens),
        recoveries=t.recoveries,
        retries=t.retries,
        events=t.events,
        rate_limited=t.rate_limited,
        failures=dict(t.failures),
        cells=exp.cells if exp else None,
        sent_per_turn=_div(t.sent, t.turns_ok) if exp else None,
        turns_per_agent_s=_div(t.turns_ok, exp.agent_s) if exp else None,
        sent_per_agent_s=per_agent,
        projection_gbps=per_agent * 8 * projection_agents / 1e9
        if per_agent is not None and projection_agents
        else None,
    )


def comparison(groups: list[Group], projection_agents: int | None = None) -> list[ComparisonRow]:
    """One row per group, in (uplink, strategy) order, each against the baseline of its uplink (the
    baseline itself is compared with nothing)."""
    ordered = sorted(groups, key=lambda g: (g.uplink_kbps, order(g.strategy)))
    bases = {g.uplink_kbps: g.totals for g in ordered if g.strategy == BASELINE}
    return [
        row_of(g, None if g.strategy == BASELINE else bases.get(g.uplink_kbps), projection_agents)
        for g in ordered
    ]
