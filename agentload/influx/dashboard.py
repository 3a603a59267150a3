"""The Grafana dashboard over agentload's InfluxDB points, built from the schema's names.

``agentload dashboard`` writes it; deploy/grafana/dashboards/agentload.json is its output, checked in
for Grafana's file provisioning, and a test keeps the two equal and runs every query against a real
InfluxDB. Queries are InfluxQL, so they work on InfluxDB 1.x and on 2.x through its v1 (DBRP) API.
"""

from __future__ import annotations

import json
from typing import Any

from ..core.records import ErrorKind
from . import schema

UID = "agentload-overview"
DATASOURCE = {"type": "influxdb", "uid": "${datasource}"}
RUN_FILTER = '"run_id" =~ /^$run_id$/ AND $timeFilter'


def _target(query: str, ref: str, alias: str = "") -> dict[str, Any]:
    t: dict[str, Any] = {"refId": ref, "query": query, "rawQuery": True, "resultFormat": "time_series"}
    if alias:
        t["alias"] = alias
    return t


def _panel(
    pid: int,
    title: str,
    queries: list[tuple[str, str]],
    grid: tuple[int, int, int, int],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    stack: bool = False,
    description: str = "",
) -> dict[str, Any]:
    x, y, w, h = grid
    custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]}},
        "targets": [_target(q, chr(ord("A") + i), alias) for i, (q, alias) in enumerate(queries)],
    }


def panels() -> list[dict[str, Any]]:
    turn, thr, task = schema.TURN, schema.THROUGHPUT, schema.TASK
    ok = f"\"outcome\" = '{schema.OK}'"
    return [
        _panel(
            1,
            "Bytes sent per turn, by strategy",
            [
                (
                    f'SELECT mean("bytes_sent") FROM "{turn}" WHERE {RUN_FILTER} AND {ok} '
                    'GROUP BY "strategy", "turn"',
                    "$tag_strategy turn $tag_turn",
                )
            ],
            (0, 0, 12, 9),
            unit="decbytes",
            kind="barchart",
            description="Mean wire bytes the client sent for the n-th model turn: stateless HTTP grows "
            "with the context; WebSocket, chained and conversation continuations stay flat.",
        ),
        _panel(
            2,
            "TTFT percentiles, by strategy",
            [
                (
                    f'SELECT percentile("ttft_ms", 50) AS "p50", percentile("ttft_ms", 95) AS "p95", '
                    f'percentile("ttft_ms", 99) AS "p99" FROM "{turn}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "strategy" fill(none)',
                    "$tag_strategy $col",
                )
            ],
            (12, 0, 12, 9),
            unit="ms",
        ),
        _panel(
            3,
            "Turns and tasks per second, stacked by worker",
            [
                (
                    f'SELECT mean("turns_per_s") FROM "{thr}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(none)',
                    "turns/s $tag_worker",
                ),
                (
                    f'SELECT mean("tasks_per_s") FROM "{thr}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(none)',
                    "tasks/s $tag_worker",
                ),
            ],
            (0, 9, 12, 8),
            unit="ops",
            stack=True,
        ),
        _panel(
            4,
            "Wire bytes per second, stacked by worker",
            [
                (
                    f'SELECT mean("bytes_sent_per_s") FROM "{thr}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(none)',
                    "sent $tag_worker",
                ),
                (
                    f'SELECT mean("bytes_received_per_s") FROM "{thr}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(none)',
                    "received $tag_worker",
                ),
            ],
            (12, 9, 12, 8),
            unit="Bps",
            stack=True,
        ),
        _panel(
            5,
            "429 rate (rate-limited turns / turns)",
            [
                (
                    f'SELECT sum("rate_limited") / sum("turns") FROM "{thr}" WHERE {RUN_FILTER} '
                    "GROUP BY time($__interval) fill(none)",
                    "429 ratio",
                )
            ],
            (0, 17, 8, 8),
            unit="percentunit",
        ),
        _panel(
            6,
            "Active agents, stacked by worker",
            [
                (
                    f'SELECT last("active_agents") FROM "{thr}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(previous)',
                    "$tag_worker",
                )
            ],
            (8, 17, 8, 8),
            stack=True,
        ),
        _panel(
            7,
            "Worker CPU",
            [
                (
                    f'SELECT max("cpu_percent") FROM "{thr}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(none)',
                    "$tag_worker",
                )
            ],
            (16, 17, 8, 8),
            unit="percent",
            description="Above ~90 % a worker is the bottleneck: add workers.",
        ),
        _panel(
            8,
            "Failed turns by kind",
            [
                (
                    f'SELECT count("duration_ms") FROM "{turn}" WHERE {RUN_FILTER} AND "outcome" != '
                    f"'{schema.OK}' AND \"outcome\" != '{ErrorKind.INTERRUPTED}' "
                    f'GROUP BY time($__interval), "outcome" fill(none)',
                    "$tag_outcome",
                )
            ],
            (0, 25, 12, 8),
            description="Turns the run's end cut off (outcome interrupted) are not failures and not shown.",
        ),
        _panel(
            9,
            "Task duration and bytes sent per task, by strategy",
            [
                (
                    f'SELECT mean("duration_ms") FROM "{task}" WHERE {RUN_FILTER} AND {ok} '
                    'GROUP BY time($__interval), "strategy" fill(none)',
                    "ms/task $tag_strategy",
                ),
                (
                    f'SELECT mean("bytes_sent") FROM "{task}" WHERE {RUN_FILTER} AND {ok} '
                    'GROUP BY time($__interval), "strategy" fill(none)',
                    "bytes sent/task $tag_strategy",
                ),
            ],
            (12, 25, 12, 8),
        ),
        _panel(
            10,
            "Agent lag p99 (first token waiting for its agent), by worker",
            [
                (
                    f'SELECT percentile("client_lag_ms", 99) FROM "{turn}" WHERE {RUN_FILTER} '
                    'GROUP BY time($__interval), "worker" fill(none)',
                    "$tag_worker",
                )
            ],
            (0, 33, 12, 8),
            unit="ms",
            description="How long first tokens waited in a worker's sockets for their agents to run: the "
            "generator's own queueing, kept out of TTFT (kernel receive stamps). Tens of ms: the worker "
            "has too many agents for its core, and TTFT may err late; add workers.",
        ),
    ]


def dashboard() -> dict[str, Any]:
    return {
        "uid": UID,
        "title": "agentload: coding agents under load",
        "tags": ["agentload", "locust", "llm"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "5s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "influxdb",
                    "label": "InfluxDB",
                },
                {
                    "name": "run_id",
                    "label": "Run",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": f'SHOW TAG VALUES FROM "{schema.RUN}" WITH KEY = "run_id"',
                    "refresh": 2,
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "sort": 2,
                },
            ]
        },
        "panels": panels(),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"
