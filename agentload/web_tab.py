"""The "Agents" tab in Locust's web UI: bytes sent per turn and TTFT by strategy, live.

Uses Locust's documented extension points: ``extended_tabs``/``extended_tables`` in the template args,
and an ``extended_stats`` entry appended to ``/stats/requests``, which the UI polls.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

TAB_KEY = "agentload"
TOTALS_PATH = "/agentload/totals"
TURNS_SHOWN = (1, 3, 6, 9, 12)
COLUMNS = [
    ("strategy", "Strategy"),
    ("tasks", "Tasks"),
    ("kb_sent_task", "KB sent/task"),
    ("sent_vs_stateless", "Sent vs stateless"),
    *[(f"turn{t}_kb", f"Turn {t} KB sent") for t in TURNS_SHOWN],
    ("ttft_mean_ms", "TTFT mean ms"),
    ("ttft_first_ms", "TTFT turn 1 ms"),
    ("s_task", "s/task"),
    ("failed_turns", "Failed turns"),
]


def _fmt(v: float | None, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if v is None else f"{v * scale:.{digits}f}"


def tab_rows(summary: Any) -> list[dict[str, str]]:
    rows = []
    for r in summary.rows():
        totals = summary.by_strategy[r["strategy"]]
        row = {
            "strategy": r["strategy"],
            "tasks": str(r["tasks"]),
            "kb_sent_task": _fmt(r["sent_per_task"], 1e-3),
            "sent_vs_stateless": "-"
            if r["sent_reduction"] is None
            else f"{-100 * r['sent_reduction']:+.1f} %",
            "ttft_mean_ms": _fmt(r["ttft_mean_ms"]),
            "ttft_first_ms": _fmt(r["ttft_first_ms"]),
            "s_task": _fmt(r["task_s"], 1, 2),
            "failed_turns": str(r["turn_failures"]),
        }
        for t in TURNS_SHOWN:
            row[f"turn{t}_kb"] = _fmt(totals.mean_turn_sent(t - 1), 1e-3, 2)
        rows.append(row)
    return rows


def install(environment: Any, summary_of: Any) -> None:
    """Add the tab to ``environment.web_ui``; ``summary_of()`` returns the live RunSummary."""
    web_ui = environment.web_ui
    web_ui.template_args["extended_tabs"] = [{"title": "Agents", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB_KEY, "structure": [{"key": k, "title": t} for k, t in COLUMNS]}
    ]

    @web_ui.app.route(TOTALS_PATH)
    def _totals() -> Any:
        """The run's cumulative per-strategy totals (merged from every worker on a master): what
        ``agentload sweep --master-url`` measures a cell with, as the difference of two reads."""
        summary = summary_of()
        return {name: {**t.__dict__} for name, t in summary.by_strategy.items()}

    @web_ui.app.after_request
    def _extend_stats(response: Any) -> Any:
        if request.path != "/stats/requests" or not response.is_json:
            return response
        data = response.get_json()
        data["extended_stats"] = [{"key": TAB_KEY, "data": tab_rows(summary_of())}]
        response.set_data(json.dumps(data))
        return response
