"""One formatter for every view of the comparison: the terminal's Markdown, the web UI's Agents tab and
the report's HTML show the same figures the same way; each view only picks its columns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Any

from ..core.strategies import BASELINE
from .rows import ComparisonRow


class Fmt(StrEnum):
    TEXT = "text"
    COUNT = "count"
    KB1 = "kb1"  # bytes shown as KB, one decimal
    KB2 = "kb2"
    CHANGE = "change"  # a reduction (0.85) shown as the change it is: -85.0 %
    CHANGE_CI = "change_ci"  # (reduction, its 95 % interval): -10.9 % (-13.1 to -8.6); n.s. spanning 0
    SHARE = "share"  # 0.93 -> 93 %
    MS = "ms"  # milliseconds, whole
    MS1 = "ms1"
    S2 = "s2"  # seconds, two decimals
    GBPS = "gbps"
    RATE3 = "rate3"
    BYTES = "bytes"  # whole bytes with separators


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    fmt: Fmt
    get: Callable[[ComparisonRow], Any] | None = None  # default: the row's attribute ``key``

    def value(self, row: ComparisonRow) -> Any:
        return self.get(row) if self.get is not None else getattr(row, self.key)


def _change(value: float) -> str:
    change = round(-100 * value, 1)
    return "0.0 %" if change == 0 else f"{change:+.1f} %"  # never "-0.0 %"


def text(value: Any, fmt: Fmt) -> str:
    """One figure as shown: '-' where nothing was measured."""
    if value is None:
        return "-"
    match fmt:
        case Fmt.CHANGE_CI:
            change, ci = value
            if change is None:
                return "-"
            if ci is None:
                return _change(change)
            # a reduction's interval [lo, hi] is the change's [-hi, -lo]
            lo, hi = _change(ci[1]).removesuffix(" %"), _change(ci[0]).removesuffix(" %")
            mark = ", n.s." if ci[0] <= 0 <= ci[1] else ""
            return f"{_change(change)} ({lo} to {hi}{mark})"
        case Fmt.TEXT:
            return str(value)
        case Fmt.COUNT:
            return str(value)
        case Fmt.KB1:
            return f"{value / 1000:.1f}"
        case Fmt.KB2:
            return f"{value / 1000:.2f}"
        case Fmt.CHANGE:
            return _change(value)
        case Fmt.SHARE:
            return f"{100 * value:.0f} %"
        case Fmt.MS:
            return f"{value:.0f}"
        case Fmt.MS1:
            return f"{value:.1f}"
        case Fmt.S2:
            return f"{value:.2f}"
        case Fmt.GBPS:
            return f"{value:,.1f} Gbit/s"
        case Fmt.RATE3:
            return f"{value:.3f}"
        case Fmt.BYTES:
            return f"{value:,.0f}"
    raise ValueError(fmt)


def text_rows(rows: Sequence[ComparisonRow], columns: Sequence[Column]) -> list[dict[str, str]]:
    """Each row as {column key: shown text} (the web UI's table takes these)."""
    return [{c.key: text(c.value(r), c.fmt) for c in columns} for r in rows]


def markdown(rows: Sequence[ComparisonRow], columns: Sequence[Column]) -> str:
    head = "| " + " | ".join(c.title for c in columns) + " |"
    lines = [head, "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(text(c.value(r), c.fmt) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def html_table(rows: Sequence[ComparisonRow], columns: Sequence[Column], table_id: str) -> str:
    """A table whose cells carry their column key (``data-key``), so a page's figures can be checked."""
    out = [f"<table id='{table_id}'><tr>" + "".join(f"<th>{escape(c.title)}</th>" for c in columns) + "</tr>"]
    for r in rows:
        cells = "".join(f"<td data-key='{c.key}'>{escape(text(c.value(r), c.fmt))}</td>" for c in columns)
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


def usage_note(rows: Sequence[ComparisonRow]) -> str | None:
    """A line for the turns whose server reported no usage (``usage: null`` or none, as some servers
    and gateways send): their tokens are unknown, not 0, so the token figures (the cached share) count
    only the other turns. None when every turn had its usage."""
    unknown = [(r.label, r.usage_unknown_turns) for r in rows if r.usage_unknown_turns]
    if not unknown:
        return None
    n = sum(c for _, c in unknown)
    ok = sum(r.turns - r.turn_failures for r in rows)
    by = ", ".join(f"{label} {c:,}" for label, c in unknown)
    return (
        f"usage unknown on {n:,} of {ok:,} successful turns ({by}): the server reported none, so their "
        "tokens are unknown, not 0 (records: null; InfluxDB: no token fields, counted in the task's "
        "usage_unknown_turns); token figures count only the turns that had usage"
    )


# ------------------------------------------------------------------------------------ the views
def _turn_kb(turn: int) -> Callable[[ComparisonRow], float | None]:
    def get(r: ComparisonRow) -> float | None:
        return r.sent_by_turn[turn - 1] if turn <= len(r.sent_by_turn) else None

    return get


def _slo_text(r: ComparisonRow) -> str | None:
    if r.slo_met is None:
        return None
    return "met" if r.slo_met else "failed: " + ", ".join(r.failed_objectives)


def sent_change_ci(key: str = "sent_reduction", title: str = "sent vs stateless (95 % CI)") -> Column:
    return Column(key, title, Fmt.CHANGE_CI, lambda r: (r.sent_reduction, r.sent_reduction_ci95))


def time_change_ci(key: str = "speedup", title: str = "time vs stateless (95 % CI)") -> Column:
    return Column(key, title, Fmt.CHANGE_CI, lambda r: (r.speedup, r.speedup_ci95))


SENT_CHANGE_CI, TIME_CHANGE_CI = sent_change_ci(), time_change_ci()
SLO_COLUMNS = (
    Column("goodput_tasks_per_s", "goodput tasks/s", Fmt.RATE3),
    Column("slo", "SLO", Fmt.TEXT, _slo_text),
)
SUMMARY_COLUMNS = (
    Column("strategy", "strategy", Fmt.TEXT),
    Column("tasks", "tasks", Fmt.COUNT),
    Column("turns_per_task", "turns/task", Fmt.MS1),
    Column("sent_per_task", "KB sent/task", Fmt.KB1),
    Column("received_per_task", "KB recv/task", Fmt.KB1),
    SENT_CHANGE_CI,
    Column("turn1_sent", "turn 1 KB", Fmt.KB2),
    Column("turn9_sent", "turn 9 KB", Fmt.KB2),
    Column("ttft_p50_ms", "TTFT p50 ms", Fmt.MS),
    Column("ttft_p99_ms", "TTFT p99 ms", Fmt.MS),
    Column("ttft_first_ms", "TTFT turn 1 ms", Fmt.MS1),
    Column("task_s", "s/task", Fmt.S2),
    Column("task_s_p90", "s/task p90", Fmt.S2),
    TIME_CHANGE_CI,
    Column("cached_share", "cached", Fmt.SHARE),
    Column("recoveries", "recov.", Fmt.COUNT),
    Column("turn_failures", "failed turns", Fmt.COUNT),
)
WEB_TURNS = (1, 3, 6, 9, 12)
WEB_COLUMNS = (
    Column("strategy", "Strategy", Fmt.TEXT),
    Column("tasks", "Tasks", Fmt.COUNT),
    Column("kb_sent_task", "KB sent/task", Fmt.KB1, lambda r: r.sent_per_task),
    sent_change_ci("sent_vs_stateless", "Sent vs stateless (95 % CI)"),
    *(Column(f"turn{t}_kb", f"Turn {t} KB sent", Fmt.KB2, _turn_kb(t)) for t in WEB_TURNS),
    Column("ttft_p50_ms", "TTFT p50 ms", Fmt.MS),
    Column("ttft_p90_ms", "TTFT p90 ms", Fmt.MS),
    Column("ttft_p99_ms", "TTFT p99 ms", Fmt.MS),
    Column("ttft_first_ms", "TTFT turn 1 ms", Fmt.MS1),
    Column("s_task", "s/task", Fmt.S2, lambda r: r.task_s),
    Column("s_task_p90", "s/task p90", Fmt.S2, lambda r: r.task_s_p90),
    time_change_ci("time_vs_stateless", "Time vs stateless (95 % CI)"),
    Column("goodput", "Goodput tasks/s", Fmt.RATE3, lambda r: r.goodput_tasks_per_s),
    Column("slo", "SLO", Fmt.TEXT, _slo_text),
    Column("failed_turns", "Failed turns", Fmt.COUNT, lambda r: r.turn_failures),
)


def with_slo(columns: Sequence[Column], objectives: bool) -> tuple[Column, ...]:
    """The columns, with goodput and the SLO verdict when objectives were given."""
    return (*columns, *SLO_COLUMNS) if objectives else tuple(columns)


def report_columns(projection_agents: int, baseline: str = BASELINE) -> tuple[Column, ...]:
    """The sweep report's table (Markdown and HTML); its changes against ``baseline``."""
    short = "stateless" if baseline == BASELINE else baseline
    return (
        Column("label", "strategy", Fmt.TEXT),
        Column("cells", "cells", Fmt.COUNT),
        Column("tasks", "tasks", Fmt.COUNT),
        Column("sent_per_task", "KB sent/task", Fmt.KB1),
        Column("received_per_task", "KB recv/task", Fmt.KB1),
        Column("payload_sent_per_task", "payload KB sent/task", Fmt.KB1),
        sent_change_ci(title=f"sent vs {short} (95 % CI)"),
        Column("ttft_mean_ms", "TTFT mean ms", Fmt.MS),
        Column("ttft_p50_ms", "TTFT p50 ms", Fmt.MS),
        Column("ttft_p99_ms", "TTFT p99 ms", Fmt.MS),
        Column("ttft_first_ms", "TTFT turn 1 ms", Fmt.MS),
        Column("task_s", "s/task", Fmt.S2),
        Column("task_s_p90", "s/task p90", Fmt.S2),
        time_change_ci(title=f"time vs {short} (95 % CI)"),
        Column("rate_limited", "429s", Fmt.COUNT),
        Column("projection_gbps", f"ingress at {projection_agents:,} agents", Fmt.GBPS),
    )


PROJECTION_COLUMNS = (
    Column("label", "strategy", Fmt.TEXT),
    Column("sent_per_turn", "bytes sent / turn", Fmt.BYTES),
    Column("turns_per_agent_s", "turns / s per agent", Fmt.RATE3),
)
