"""``agentload report RUN_DIR``: the sweep's comparison as one self-contained HTML page, Markdown and JSON.

Everything comes from ``cells.jsonl`` (each cell's Totals, themselves computed from its records): per
strategy (and per link, when the sweep varied it) the cells' Totals are merged, so the table's
numbers are exact sums over the records and can be recomputed from them.

The projection answers "what would N concurrent agents need?": ingress bandwidth = N x the bytes one
agent sends per second of its working time (bytes per completed task / seconds per completed task), so
each strategy's rate follows its own speed; N agents working back to back, as a closed loop runs them.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

from ..core.errors import AgentloadError
from ..core.link import link_order
from ..core.strategies import BASELINE, order
from ..metrics import Column, ComparisonRow, Exposure, Fmt, Group, Totals, comparison, html_table, markdown
from ..metrics.format import PROJECTION_COLUMNS, report_columns, usage_note, with_slo
from ..metrics.sessions import SessionRow, SessionTotals, session_html, session_markdown, session_row
from ..metrics.slo import Objective
from ..metrics.spread import Samples, TurnSamples
from . import charts
from .cells import CellResult
from .header import Header
from .store import RunStore

DEFAULT_PROJECTION_AGENTS = 1_000_000


@dataclass
class Pool:
    """The cells of one strategy at one link and compression, pooled (once: a report reads its
    figures several times, and the pooling and the bootstrap behind them are not free)."""

    strategy: str
    link: str
    compression: str
    cells: list[CellResult]

    def group(self) -> Group:
        return self._group

    @functools.cached_property
    def _group(self) -> Group:
        totals, samples = Totals(), Samples()
        for c in self.cells:
            totals.merge(c.totals)
            samples.merge(c.samples)
        agent_s = sum(c.exposure.agent_s for c in self.cells)
        exposure = Exposure(agent_s, len(self.cells))
        seconds = sum(c.window_s for c in self.cells)
        variant = self.cells[0].spec.variant if self.cells else ""
        return Group(self.strategy, totals, self.link, exposure, samples, seconds, variant)

    def sessions(self) -> SessionTotals:
        out = SessionTotals()
        for c in self.cells:
            out.merge(c.sessions)
        return out

    def turns(self) -> TurnSamples:
        out = TurnSamples()
        for c in self.cells:
            out.merge(c.turns)
        return out


@dataclass
class Report:
    pools: list[Pool]
    projection_agents: int
    header: Header
    objectives: tuple[Objective, ...] = ()
    baseline: str = BASELINE  # what the changes are against (agentload report --baseline)

    def groups(self) -> list[Group]:
        return [p.group() for p in self.pools]

    def rows(self) -> list[ComparisonRow]:
        return self._rows

    def cell_rows(self) -> list[tuple[CellResult, ComparisonRow]]:
        return self._cell_rows

    @functools.cached_property
    def _rows(self) -> list[ComparisonRow]:
        return comparison(self.groups(), self.projection_agents, self.objectives, self.baseline)

    @functools.cached_property
    def _cell_rows(self) -> list[tuple[CellResult, ComparisonRow]]:
        return [(c, c.row(self.objectives)) for p in self.pools for c in p.cells]

    def failures(self) -> list[str]:
        """What failed an objective: each strategy's row, then each cell, with the objectives it failed."""
        out = [f"{r.label}: {', '.join(r.failed_objectives)}" for r in self.rows() if r.slo_met is False]
        out += [
            f"cell {c.spec.id}: {', '.join(r.failed_objectives)}"
            for c, r in self.cell_rows()
            if r.slo_met is False
        ]
        return out

    def columns(self) -> tuple[Column, ...]:
        return with_slo(report_columns(self.projection_agents, self.baseline), bool(self.objectives))

    def session_rows(self) -> list[SessionRow]:
        """Per pool, its sessions (a root task and its subagents); none when no cell spawned a subagent
        (every session a task: the task table says it all)."""
        rows = [session_row(p.group().label, p.sessions()) for p in self.pools]
        return rows if any(r.subagents_per_session for r in rows) else []

    def markdown_table(self) -> str:
        rows = self.rows()
        note = usage_note(rows)
        sessions = self.session_rows()
        more = (
            f"\n\nPer session (a root task and its subagents):\n\n{session_markdown(sessions)}"
            if sessions
            else ""
        )
        return markdown(rows, self.columns()) + (f"\n\n{note}" if note else "") + more

    def chart_svgs(self) -> list[str]:
        links = sorted({p.link for p in self.pools}, key=link_order)
        plain = [p for p in self.pools if p.link == links[0]]  # the per-turn charts: one link's
        rows = self.rows()
        out: list[str] = []
        turns = {p.group().label: p.turns() for p in plain}
        tasks = sorted({t for ts in turns.values() for t in ts.by_task})
        if not tasks:  # cells measured on a running master keep no turn samples: the totals' means
            out += self._pooled_turn_charts(plain)
        for task in tasks:  # one task a chart: the same turns, each with its spread (p10 to p90)
            for key, title, unit in (
                ("sent", "Bytes sent per turn", "bytes"),
                ("ttft", "TTFT by turn", "ms"),
            ):
                out.append(
                    charts.line_chart(
                        f"{title}: {task}",
                        "turn",
                        unit,
                        {k: ts.series(task, key) for k, ts in turns.items() if ts.series(task, key)},
                        bands={
                            k: (ts.series(task, key, 10), ts.series(task, key, 90)) for k, ts in turns.items()
                        },
                        integer_x=True,
                        band_note="band: p10 to p90 of the turns",
                    )
                )
            out.append(
                charts.line_chart(
                    f"Cumulative bytes sent per task: {task}",
                    "turn",
                    "bytes",
                    {
                        k: _cumulative(ts.series(task, "sent"))
                        for k, ts in turns.items()
                        if ts.series(task, "sent")
                    },
                    integer_x=True,
                )
            )
        out.append(charts.bar_chart("Time per task", "s", {r.label: r.task_s or 0.0 for r in rows}))
        items = []
        for r in rows:
            if r.strategy == self.baseline:
                continue
            for name, value, ci in (
                ("bytes sent", r.sent_reduction, r.sent_reduction_ci95),
                ("time per task", r.speedup, r.speedup_ci95),
            ):
                if value is not None:  # shown as the change it is: a reduction of 0.85 is -85 %
                    shown = (-100 * ci[1], -100 * ci[0]) if ci is not None else None
                    items.append((f"{r.label}: {name}", r.label, -100 * value, shown))
        if items:
            out.append(charts.interval_chart(f"Change against {self.baseline} (95 % CI)", "% change", items))
        curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
        limited: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for p in plain:
            by_agents: dict[int, list[CellResult]] = defaultdict(list)
            for c in p.cells:
                by_agents[c.spec.agents].append(c)
            label = p.group().label
            for a in sorted(by_agents):
                cs = by_agents[a]
                curves[label].append((a, sum(c.totals.turns_ok / c.window_s for c in cs) / len(cs)))
                limited[label].append((a, sum(c.totals.rate_limited / c.window_s for c in cs) / len(cs)))
        out.append(charts.line_chart("Throughput against agents", "agents", "turns/s", dict(curves)))
        out.append(charts.line_chart("429s against agents", "agents", "429s/s", dict(limited)))
        if len(links) > 1:  # the links in the order of what they cost: x is that order
            series: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for r in rows:
                if r.task_s is not None:
                    name = r.strategy + (f" [{r.compression}]" if r.compression else "")
                    series[name].append((float(links.index(r.link) + 1), r.task_s))
            names = ", ".join(f"{i} {link or 'none'}" for i, link in enumerate(links, 1))
            out.append(
                charts.line_chart(
                    "Time per task against link", f"link ({names})", "s", dict(series), integer_x=True
                )
            )
        return out

    @staticmethod
    def _pooled_turn_charts(pools: list[Pool]) -> list[str]:
        groups = {g.label: g.totals for g in (p.group() for p in pools)}

        def series(get: Any, depth: int) -> list[tuple[float, float]]:
            return [(float(i + 1), v) for i in range(depth) if (v := get(i)) is not None]

        return [
            charts.line_chart(
                f"{title} (all tasks pooled)",
                "turn",
                unit,
                {k: series(getattr(t, mean), t.depth) for k, t in groups.items()},
                integer_x=True,
            )
            for title, unit, mean in (
                ("Bytes sent per turn", "bytes", "mean_turn_sent"),
                ("TTFT by turn", "ms", "mean_turn_ttft"),
            )
        ]

    def header_html(self) -> str:
        items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in self.header.items())
        return f"<dl id='header'>{items}</dl>"

    def html(self, title: str) -> str:
        rows = self.rows()
        projection = (
            *PROJECTION_COLUMNS,
            Column("projection_gbps", f"ingress at {self.projection_agents:,} agents", Fmt.GBPS),
        )
        failures = self.failures()
        slo = ""
        if self.objectives:
            verdict = "every objective met" if not failures else "FAILED: " + "; ".join(failures)
            slo = f"<p id='slo'><b>Objectives</b> ({escape(', '.join(map(str, self.objectives)))}): {escape(verdict)}</p>"
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0 24px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
#header {{ display: grid; grid-template-columns: max-content auto; gap: 2px 16px; background: #f6f6f6;
  padding: 10px 14px; border: 1px solid #ddd; }}
#header dt {{ font-weight: bold; }} #header dd {{ margin: 0; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
</style></head><body>
<h1>{escape(title)}</h1>
{self.header_html()}
<p>Per completed task, exact wire bytes; tasks counted when they started after each cell's warm-up.
Reductions and speed-ups are against <code>{self.baseline}</code>, with 95 % confidence intervals (a seeded
bootstrap over tasks); "n.s." marks an interval that spans 0, a difference this run cannot tell from
noise.</p>
{slo}
{html_table(rows, self.columns(), "comparison")}
{f"<p id='usage'>{escape(note)}</p>" if (note := usage_note(rows)) else ""}
{self._sessions_html()}
<h2>Projection</h2>
<p>Ingress bandwidth for {self.projection_agents:,} concurrent agents working back to back: the bytes
an agent sent per second of its own working time (bytes per completed task over the seconds it took),
times the agents, with the latency model and the loop above: against another endpoint, or paced
otherwise, agents send at another rate.</p>
{html_table(rows, projection, "projection")}
<h2>Charts</h2>
<div class="charts">
{"".join(self.chart_svgs())}
</div>
</body></html>
"""

    def _sessions_html(self) -> str:
        rows = self.session_rows()
        if not rows:
            return ""
        return (
            "<h2>Sessions</h2>\n<p>A session is a root task and every subagent below it, counted when its root "
            "started after the cell's warm-up: its wall time is the root's, its bytes all of theirs, its 429s "
            "by type.</p>\n" + session_html(rows, "sessions")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "header": self.header.as_dict(),
            "loop": self.header.loop.as_dict(),
            "baseline": self.baseline,
            "slo": [str(o) for o in self.objectives],
            "slo_met": not self.failures() if self.objectives else None,
            "rows": [r.as_dict() for r in self.rows()],
            "sessions": [r.as_dict() for r in self.session_rows()],
            "cells": [
                {
                    "id": c.spec.id,
                    "tasks": r.tasks,
                    "slo": [v.as_dict() for v in r.slo] if r.slo is not None else None,
                    "slo_met": r.slo_met,
                    "good_tasks": r.good_tasks,
                    "goodput_tasks_per_s": r.goodput_tasks_per_s,
                }
                for c, r in self.cell_rows()
            ],
            "projection_agents": self.projection_agents,
        }


def _cumulative(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    total, out = 0.0, []
    for x, y in points:
        total += y
        out.append((x, total))
    return out


def build(
    run_dir: Path,
    projection_agents: int = DEFAULT_PROJECTION_AGENTS,
    slo: str | None = None,
    baseline: str = BASELINE,
) -> Report:
    if not run_dir.is_dir():
        what = "is a file" if run_dir.exists() else "no such folder"
        raise AgentloadError(f"{run_dir}: {what}; give a sweep's folder (what agentload sweep --out wrote)")
    store = RunStore(run_dir)
    cells = store.results()
    if not cells:
        raise AgentloadError(
            f"{run_dir}: no cells.jsonl with finished cells (run agentload sweep --out {run_dir})"
        )
    pools: dict[tuple[str, str, str], Pool] = {}
    varied = len({c.spec.link for c in cells}) > 1  # one link for all: the header names it, not each row
    for c in cells:  # (a pool's variant: its compression, agents per user and subagents)
        key = (c.spec.strategy, c.spec.link if varied else "", c.spec.variant)
        pools.setdefault(key, Pool(*key, cells=[])).cells.append(c)
    ordered = sorted(pools, key=lambda k: (k[2] != "", k[2], link_order(k[1]), order(k[0])))
    spec = store.read_spec() if store.exists() else None
    if spec is None:
        raise AgentloadError(f"{run_dir}: no sweep.json (run agentload sweep --out {run_dir})")
    if slo is not None:
        spec = replace(spec, slo=slo)
    header = Header(spec, min((c.window_start for c in cells), default=None))
    if not any(c.spec.strategy == baseline for c in cells):
        ran = ", ".join(sorted({c.spec.strategy for c in cells}))
        raise AgentloadError(f"--baseline: {baseline!r} did not run in {run_dir} (it ran {ran})")
    return Report([pools[k] for k in ordered], projection_agents, header, spec.objectives, baseline)


def write_report(
    run_dir: Path,
    projection_agents: int = DEFAULT_PROJECTION_AGENTS,
    slo: str | None = None,
    baseline: str = BASELINE,
) -> Report:
    report = build(run_dir, projection_agents, slo, baseline)
    (run_dir / "report.html").write_text(report.html(f"agentload sweep: {run_dir.name}"))
    (run_dir / "report.md").write_text(report.markdown_table() + "\n")
    (run_dir / "report.json").write_text(json.dumps(report.as_json(), indent=2))
    return report
