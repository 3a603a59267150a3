"""``agentload report RUN_DIR``: the sweep's comparison as one self-contained HTML page, Markdown and JSON.

Everything comes from ``cells.jsonl`` (each cell's Totals, themselves computed from its records): per
strategy (and per uplink, when the sweep varied it) the cells' Totals are merged, so the table's
numbers are exact sums over the records and can be recomputed from them.

The projection answers "what would N concurrent agents need?": ingress bandwidth = N x the bytes one
agent sends per second of its working time (bytes per completed task / seconds per completed task), so
each strategy's rate follows its own speed; N agents working back to back, as a closed loop runs them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ..core.errors import AgentloadError
from ..core.strategies import BASELINE, order
from ..metrics import Column, ComparisonRow, Exposure, Fmt, Group, Totals, comparison, html_table, markdown
from ..metrics.format import PROJECTION_COLUMNS, report_columns
from ..metrics.spread import Samples
from . import charts
from .cells import CellResult
from .store import RunStore

DEFAULT_PROJECTION_AGENTS = 1_000_000


@dataclass
class Pool:
    """The cells of one strategy at one uplink, pooled."""

    strategy: str
    uplink_kbps: float
    cells: list[CellResult]

    def group(self) -> Group:
        totals, samples = Totals(), Samples()
        for c in self.cells:
            totals.merge(c.totals)
            samples.merge(c.samples)
        agent_s = sum(c.exposure.agent_s for c in self.cells)
        return Group(self.strategy, totals, self.uplink_kbps, Exposure(agent_s, len(self.cells)), samples)


@dataclass
class Report:
    pools: list[Pool]
    projection_agents: int

    def groups(self) -> list[Group]:
        return [p.group() for p in self.pools]

    def rows(self) -> list[ComparisonRow]:
        return comparison(self.groups(), self.projection_agents)

    def markdown_table(self) -> str:
        return markdown(self.rows(), report_columns(self.projection_agents))

    def chart_svgs(self) -> list[str]:
        plain = [p for p in self.pools if not p.uplink_kbps] or self.pools
        groups = {p.group().label: p.group() for p in plain}
        by_turn_sent = {k: _series(g.totals.mean_turn_sent, g.totals.depth) for k, g in groups.items()}
        out = [
            charts.line_chart("Bytes sent per turn", "turn", "bytes", by_turn_sent),
            charts.line_chart(
                "Cumulative bytes sent per task",
                "turn",
                "bytes",
                {k: _cumulative(v) for k, v in by_turn_sent.items()},
            ),
            charts.line_chart(
                "TTFT by turn",
                "turn",
                "ms",
                {k: _series(g.totals.mean_turn_ttft, g.totals.depth) for k, g in groups.items()},
            ),
            charts.bar_chart("Time per task", "s", {r.label: r.task_s or 0.0 for r in self.rows()}),
        ]
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
        uplinks = sorted({p.uplink_kbps for p in self.pools})
        if len(uplinks) > 1:
            series: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for r in self.rows():
                if r.task_s is not None and r.uplink_kbps:
                    series[r.strategy].append((r.uplink_kbps, r.task_s))
            out.append(charts.line_chart("Time per task against uplink", "uplink kbit/s", "s", dict(series)))
        return out

    def html(self, title: str) -> str:
        rows = self.rows()
        projection = (
            *PROJECTION_COLUMNS,
            Column("projection_gbps", f"ingress at {self.projection_agents:,} agents", Fmt.GBPS),
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0 24px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>Per completed task, exact wire bytes; tasks counted when they started after each cell's warm-up.
Reductions and speed-ups are against <code>{BASELINE}</code>.</p>
{html_table(rows, report_columns(self.projection_agents), "comparison")}
<h2>Projection</h2>
<p>Ingress bandwidth for {self.projection_agents:,} concurrent agents working back to back: the bytes
an agent sent per second of its own working time (bytes per completed task over the seconds it took),
times the agents.</p>
{html_table(rows, projection, "projection")}
<h2>Charts</h2>
<div class="charts">
{"".join(self.chart_svgs())}
</div>
</body></html>
"""

    def as_json(self) -> dict[str, Any]:
        return {"rows": [r.as_dict() for r in self.rows()], "projection_agents": self.projection_agents}


def _series(get: Any, depth: int) -> list[tuple[float, float]]:
    """(turn number, value) for every turn that has one."""
    return [(float(i + 1), v) for i in range(depth) if (v := get(i)) is not None]


def _cumulative(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    total, out = 0.0, []
    for x, y in points:
        total += y
        out.append((x, total))
    return out


def build(run_dir: Path, projection_agents: int = DEFAULT_PROJECTION_AGENTS) -> Report:
    cells = RunStore(run_dir).results()
    if not cells:
        raise AgentloadError(
            f"{run_dir}: no cells.jsonl with finished cells (run agentload sweep --out {run_dir})"
        )
    pools: dict[tuple[str, float], Pool] = {}
    for c in cells:
        key = (c.spec.strategy, float(c.spec.uplink_kbps))
        pools.setdefault(key, Pool(*key, cells=[])).cells.append(c)
    ordered = sorted(pools, key=lambda k: (k[1], order(k[0])))
    return Report([pools[k] for k in ordered], projection_agents)


def write_report(run_dir: Path, projection_agents: int = DEFAULT_PROJECTION_AGENTS) -> Report:
    report = build(run_dir, projection_agents)
    (run_dir / "report.html").write_text(report.html(f"agentload sweep: {run_dir.name}"))
    (run_dir / "report.md").write_text(report.markdown_table() + "\n")
    (run_dir / "report.json").write_text(json.dumps(report.as_json(), indent=2))
    return report
