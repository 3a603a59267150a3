"""``agentload report RUN_DIR``: the sweep's comparison as one self-contained HTML page, Markdown and JSON.

Everything comes from ``cells.jsonl`` (each cell's figures, themselves computed from its records):
per strategy (and per uplink, when the sweep varied it) the cells are pooled, weighted by what each
measured (tasks, turns, agent-seconds), so the table's numbers can be recomputed from the records.

The projection answers "what would N concurrent agents need?": ingress bandwidth = N x the bytes one
agent sent per second (measured bytes per turn x turns per second per agent).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from . import charts
from .errors import AgentloadError
from .records import STRATEGIES
from .sweep import done_cells

BASELINE = "http-stateless"
DEFAULT_PROJECTION_AGENTS = 1_000_000


def _wmean(pairs: list[tuple[float | None, float]]) -> float | None:
    """Mean of values weighted by counts, ignoring missing values."""
    num = sum(v * n for v, n in pairs if v is not None and n)
    den = sum(n for v, n in pairs if v is not None and n)
    return num / den if den else None


@dataclass
class Group:
    """The cells of one strategy (at one uplink), pooled."""

    strategy: str
    uplink_kbps: float
    cells: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.strategy + (f" @ {self.uplink_kbps:g} kbit/s" if self.uplink_kbps else "")

    def row(self) -> dict[str, Any]:
        c = self.cells
        tasks = sum(x["tasks_ok"] for x in c)
        turns = sum(x["turns_ok"] for x in c)
        agent_s = sum(x["window_s"] * x["spec"]["agents"] for x in c)
        sent = sum(x["sent"] for x in c)
        return {
            "strategy": self.strategy,
            "uplink_kbps": self.uplink_kbps,
            "label": self.label,
            "cells": len(c),
            "tasks": tasks,
            "failed_tasks": sum(x["tasks_failed"] for x in c),
            "sent_per_task": _wmean([(x["sent_per_task"], x["tasks_ok"]) for x in c]),
            "received_per_task": _wmean([(x["received_per_task"], x["tasks_ok"]) for x in c]),
            "ttft_mean_ms": _wmean([(x["ttft_mean_ms"], x["ttft_n"]) for x in c]),
            "ttft_first_ms": _wmean([(x["ttft_first_ms"], x["ttft_first_n"]) for x in c]),
            "task_s": _wmean([(x["task_s"], x["tasks_ok"]) for x in c]),
            "sent_per_turn": sent / turns if turns else None,
            "turns_per_agent_s": turns / agent_s if agent_s else None,
            "sent_per_agent_s": sent / agent_s if agent_s else None,
            "rate_limited": sum(x["rate_limited"] for x in c),
        }

    def by_turn(self, key: str) -> list[tuple[float, float]]:
        """Pooled mean of a per-turn list (``sent_by_turn`` or ``ttft_by_turn``), by turn index."""
        depth = max((len(x[key]) for x in self.cells), default=0)
        out = []
        for i in range(depth):
            v = _wmean([(x[key][i], x["turn_n"][i]) for x in self.cells if i < len(x[key])])
            if v is not None:
                out.append((float(i + 1), v))
        return out


@dataclass
class Report:
    groups: list[Group]
    projection_agents: int

    def rows(self) -> list[dict[str, Any]]:
        rows = [g.row() for g in self.groups]
        for r in rows:
            base = next(
                (b for b in rows if b["strategy"] == BASELINE and b["uplink_kbps"] == r["uplink_kbps"]), None
            )
            if base is r:  # the baseline is not compared with itself
                base = None
            r["sent_reduction"] = (
                1 - r["sent_per_task"] / base["sent_per_task"]
                if base and r["sent_per_task"] is not None and base["sent_per_task"]
                else None
            )
            r["speedup"] = (
                1 - r["task_s"] / base["task_s"]
                if base and r["task_s"] is not None and base["task_s"]
                else None
            )
            per_agent = r["sent_per_agent_s"]
            r["projection_gbps"] = (
                per_agent * 8 * self.projection_agents / 1e9 if per_agent is not None else None
            )
        return rows

    def markdown_table(self) -> str:
        def f(v: float | None, fmt: str, scale: float = 1.0) -> str:
            return "-" if v is None else format(v * scale, fmt)

        def pct(v: float | None) -> str:
            return "-" if v is None else f"{-100 * v:+.1f} %"

        head = (
            "| strategy | cells | tasks | KB sent/task | KB recv/task | sent vs stateless | TTFT mean ms | "
            f"TTFT turn 1 ms | s/task | time vs stateless | ingress at {self.projection_agents:,} agents |"
        )
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in self.rows():
            lines.append(
                "| "
                + " | ".join(
                    [
                        r["label"],
                        str(r["cells"]),
                        str(r["tasks"]),
                        f(r["sent_per_task"], ".1f", 1e-3),
                        f(r["received_per_task"], ".1f", 1e-3),
                        pct(r["sent_reduction"]),
                        f(r["ttft_mean_ms"], ".0f"),
                        f(r["ttft_first_ms"], ".0f"),
                        f(r["task_s"], ".2f"),
                        pct(r["speedup"]),
                        f(r["projection_gbps"], ".1f") + " Gbit/s",
                    ]
                )
                + " |"
            )
        return "\n".join(lines)

    def chart_svgs(self) -> list[str]:
        plain = [g for g in self.groups if not g.uplink_kbps] or self.groups
        label = {g.label: g for g in plain}
        out = [
            charts.line_chart(
                "Bytes sent per turn",
                "turn",
                "bytes",
                {k: g.by_turn("sent_by_turn") for k, g in label.items()},
            ),
            charts.line_chart(
                "Cumulative bytes sent per task",
                "turn",
                "bytes",
                {k: _cumulative(g.by_turn("sent_by_turn")) for k, g in label.items()},
            ),
            charts.line_chart(
                "TTFT by turn", "turn", "ms", {k: g.by_turn("ttft_by_turn") for k, g in label.items()}
            ),
            charts.bar_chart("Time per task", "s", {r["label"]: r["task_s"] or 0.0 for r in self.rows()}),
        ]
        curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
        limited: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for g in plain:
            by_agents: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for x in g.cells:
                by_agents[x["spec"]["agents"]].append(x)
            for a in sorted(by_agents):
                cs = by_agents[a]
                curves[g.label].append((a, sum(x["turns_per_s"] for x in cs) / len(cs)))
                limited[g.label].append((a, sum(x["rate_limited_per_s"] for x in cs) / len(cs)))
        out.append(charts.line_chart("Throughput against agents", "agents", "turns/s", dict(curves)))
        out.append(charts.line_chart("429s against agents", "agents", "429s/s", dict(limited)))
        uplinks = sorted({g.uplink_kbps for g in self.groups})
        if len(uplinks) > 1:
            series: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for g in self.groups:
                t = g.row()["task_s"]
                if t is not None and g.uplink_kbps:
                    series[g.strategy].append((g.uplink_kbps, t))
            out.append(charts.line_chart("Time per task against uplink", "uplink kbit/s", "s", dict(series)))
        return out

    def html(self, title: str) -> str:
        rows = self.rows()
        cols = [
            ("strategy", "label", None),
            ("tasks", "tasks", "d"),
            ("KB sent / task", "sent_per_task", "kb"),
            ("KB received / task", "received_per_task", "kb"),
            ("sent vs stateless", "sent_reduction", "pct"),
            ("TTFT mean (ms)", "ttft_mean_ms", ".0f"),
            ("TTFT turn 1 (ms)", "ttft_first_ms", ".0f"),
            ("s / task", "task_s", ".2f"),
            ("time vs stateless", "speedup", "pct"),
            ("429s", "rate_limited", "d"),
        ]

        def cell(v: Any, fmt: str | None) -> str:
            if v is None:
                return "-"
            if fmt == "kb":
                return f"{v / 1000:.1f}"
            if fmt == "pct":
                return f"{-100 * v:+.1f} %"
            return escape(str(v)) if fmt is None else format(v, fmt)

        table = [
            "<table id='comparison'><tr>" + "".join(f"<th>{escape(c)}</th>" for c, _, _ in cols) + "</tr>"
        ]
        for r in rows:
            table.append(
                "<tr>" + "".join(f"<td data-key='{k}'>{cell(r[k], fmt)}</td>" for _, k, fmt in cols) + "</tr>"
            )
        table.append("</table>")
        proj = [
            "<table id='projection'><tr><th>strategy</th><th>bytes sent / turn</th><th>turns / s per agent</th>"
            f"<th>ingress at {self.projection_agents:,} agents</th></tr>"
        ]
        for r in rows:
            proj.append(
                f"<tr><td>{escape(r['label'])}</td><td>{cell(r['sent_per_turn'], ',.0f')}</td>"
                f"<td>{cell(r['turns_per_agent_s'], '.3f')}</td>"
                f"<td data-key='projection_gbps'>{cell(r['projection_gbps'], ',.1f')} Gbit/s</td></tr>"
            )
        proj.append("</table>")
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
{"".join(table)}
<h2>Projection</h2>
<p>Ingress bandwidth for {self.projection_agents:,} concurrent agents: the measured bytes sent per turn
times the measured turns per second per agent, times the agents.</p>
{"".join(proj)}
<h2>Charts</h2>
<div class="charts">
{"".join(self.chart_svgs())}
</div>
</body></html>
"""


def _cumulative(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    total, out = 0.0, []
    for x, y in points:
        total += y
        out.append((x, total))
    return out


def build(run_dir: Path, projection_agents: int = DEFAULT_PROJECTION_AGENTS) -> Report:
    cells = list(done_cells(run_dir).values())
    if not cells:
        raise AgentloadError(
            f"{run_dir}: no cells.jsonl with finished cells (run agentload sweep --out {run_dir})"
        )
    groups: dict[tuple[str, float], Group] = {}
    for c in cells:
        key = (c["spec"]["strategy"], float(c["spec"]["uplink_kbps"]))
        groups.setdefault(key, Group(*key)).cells.append(c)

    def order(k: tuple[str, float]) -> tuple[float, int]:
        return (k[1], STRATEGIES.index(k[0]) if k[0] in STRATEGIES else 99)

    return Report([groups[k] for k in sorted(groups, key=order)], projection_agents)


def write_report(run_dir: Path, projection_agents: int = DEFAULT_PROJECTION_AGENTS) -> Report:
    report = build(run_dir, projection_agents)
    (run_dir / "report.html").write_text(report.html(f"agentload sweep: {run_dir.name}"))
    (run_dir / "report.md").write_text(report.markdown_table() + "\n")
    (run_dir / "report.json").write_text(
        json.dumps({"rows": report.rows(), "projection_agents": projection_agents}, indent=2)
    )
    return report
