"""What one sweep cell measured, computed from its records alone (warm-up excluded).

A cell is one Locust run of one strategy at one agent count, task, model and uplink. Its figures come
from the JSONL records its workers wrote, never from Locust's stats, so a report can be recomputed and
checked from the same files. The measured window starts after the warm-up: a task counts when it
started inside the window, and every turn attempt of a counted task counts (the turns of tasks begun
in the warm-up do not, even when they end later).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .records import ErrorKind


@dataclass(frozen=True)
class CellSpec:
    """One point of the sweep matrix."""

    strategy: str
    agents: int
    task: str
    model: str
    uplink_kbps: float = 0.0

    @property
    def id(self) -> str:
        task = Path(self.task).stem if self.task.endswith((".yaml", ".yml", ".json")) else self.task
        up = f"-up{self.uplink_kbps:g}k" if self.uplink_kbps else ""
        return f"{self.strategy}-a{self.agents}-{task}-{self.model}{up}".replace("/", "_")


@dataclass
class CellResult:
    """A cell's figures. Means are per completed task or per successful turn, as named."""

    spec: dict[str, Any]
    window_start: float  # unix time the measured window began (the first task's start + warm-up)
    window_s: float  # measured seconds
    tasks_ok: int = 0
    tasks_failed: int = 0
    turns_ok: int = 0
    turn_attempts: int = 0
    rate_limited: int = 0  # 429 answers met in the window
    failures: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # every byte the counted tasks sent, failed attempts and handshakes included
    received: int = 0
    sent_per_task: float | None = None  # completed tasks
    received_per_task: float | None = None
    task_s: float | None = None
    ttft_mean_ms: float | None = None
    ttft_first_ms: float | None = None
    ttft_n: int = 0  # how many turns the TTFT means are over (to pool cells exactly)
    ttft_first_n: int = 0
    sent_by_turn: list[float] = field(default_factory=list)  # mean bytes sent at turn i (ok turns)
    turn_n: list[int] = field(default_factory=list)  # ok turns at turn i
    ttft_by_turn: list[float | None] = field(default_factory=list)
    turns_per_s: float = 0.0
    tasks_per_s: float = 0.0
    rate_limited_per_s: float = 0.0
    sent_per_agent_s: float = 0.0  # ingress each agent puts on the API, bytes per second

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record the cell's processes wrote (``records*.jsonl``: one file per worker)."""
    out: list[dict[str, Any]] = []
    for f in sorted(folder.glob("records*.jsonl")):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def measure(
    spec: CellSpec, records: list[dict[str, Any]], window_start: float, window_s: float
) -> CellResult:
    """The cell's figures from its records: tasks started in [window_start, window_start + window_s)."""
    end = window_start + window_s
    counted = {
        (r["agent"], r["task_seq"])
        for r in records
        if r["kind"] == "task" and window_start <= r["started_at"] < end
    }
    tasks = [r for r in records if r["kind"] == "task" and (r["agent"], r["task_seq"]) in counted]
    turns = [r for r in records if r["kind"] == "turn" and (r["agent"], r["task_seq"]) in counted]
    ok_tasks = [r for r in tasks if r["ok"]]
    ok_turns = [r for r in turns if r["ok"]]
    res = CellResult(spec=asdict(spec), window_start=window_start, window_s=window_s)
    res.tasks_ok, res.tasks_failed = len(ok_tasks), len(tasks) - len(ok_tasks)
    res.turns_ok, res.turn_attempts = len(ok_turns), len(turns)
    res.rate_limited = sum(1 for r in turns if r["error_kind"] == ErrorKind.RATE_LIMITED)
    for r in turns:
        if not r["ok"]:
            res.failures[r["error_kind"]] = res.failures.get(r["error_kind"], 0) + 1
    res.sent = sum(r["bytes_sent"] for r in turns)
    res.received = sum(r["bytes_received"] for r in turns)
    res.sent_per_task = _mean([r["bytes_sent"] for r in ok_tasks])
    res.received_per_task = _mean([r["bytes_received"] for r in ok_tasks])
    res.task_s = _mean([r["duration_ms"] / 1000.0 for r in ok_tasks])
    ttft = [r["ttft_ms"] for r in ok_turns if r["ttft_ms"] is not None]
    first = [r["ttft_ms"] for r in ok_turns if r["turn"] == 0 and r["ttft_ms"] is not None]
    res.ttft_mean_ms, res.ttft_n = _mean(ttft), len(ttft)
    res.ttft_first_ms, res.ttft_first_n = _mean(first), len(first)
    depth = max((r["turn"] for r in ok_turns), default=-1) + 1
    for i in range(depth):
        at = [r for r in ok_turns if r["turn"] == i]
        res.turn_n.append(len(at))
        res.sent_by_turn.append(_mean([r["bytes_sent"] for r in at]) or 0.0)
        res.ttft_by_turn.append(_mean([r["ttft_ms"] for r in at if r["ttft_ms"] is not None]))
    if window_s > 0:
        res.turns_per_s = res.turns_ok / window_s
        res.tasks_per_s = len(tasks) / window_s
        res.rate_limited_per_s = res.rate_limited / window_s
        res.sent_per_agent_s = res.sent / window_s / max(1, spec.agents)
    return res


def totals_difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after - before`` of two StrategyTotals reads (plain dicts; the per-turn maps key by turn)."""
    out: dict[str, Any] = {}
    for k, v in after.items():
        b = before.get(k, {} if isinstance(v, dict) else 0)
        if isinstance(v, dict):
            out[k] = {kk: vv - b.get(kk, 0) for kk, vv in v.items()}
        else:
            out[k] = v - b
    return out


def measure_totals(spec: CellSpec, t: dict[str, Any], window_start: float, window_s: float) -> CellResult:
    """A cell measured on a running master from its totals (the difference over the window): tasks
    count when they finished inside the window, and TTFT by turn is not available."""
    res = CellResult(spec=asdict(spec), window_start=window_start, window_s=window_s)
    n = t.get("tasks_ok", 0)
    res.tasks_ok, res.tasks_failed = n, t.get("tasks_failed", 0)
    res.turns_ok = t.get("turns_ok", 0)
    res.turn_attempts = res.turns_ok + t.get("turns_failed", 0)
    res.failures = {k: v for k, v in t.get("failures", {}).items() if v}
    res.rate_limited = res.failures.get(ErrorKind.RATE_LIMITED, 0)
    res.sent, res.received = t.get("task_sent", 0), t.get("task_received", 0)
    if n:
        res.sent_per_task, res.received_per_task = res.sent / n, res.received / n
        res.task_s = t.get("task_ms", 0.0) / n / 1000.0
    res.ttft_n, res.ttft_first_n = t.get("ttft_n", 0), t.get("first_ttft_n", 0)
    res.ttft_mean_ms = t["ttft_ms_sum"] / res.ttft_n if res.ttft_n else None
    res.ttft_first_ms = t["first_ttft_ms_sum"] / res.ttft_first_n if res.ttft_first_n else None
    turn_n = {int(k): v for k, v in t.get("turn_n", {}).items() if v}
    turn_sent = {int(k): v for k, v in t.get("turn_sent", {}).items()}
    for i in range(max(turn_n, default=-1) + 1):
        res.turn_n.append(turn_n.get(i, 0))
        res.sent_by_turn.append(turn_sent.get(i, 0) / turn_n[i] if turn_n.get(i) else 0.0)
        res.ttft_by_turn.append(None)
    if window_s > 0:
        res.turns_per_s = res.turns_ok / window_s
        res.tasks_per_s = (n + res.tasks_failed) / window_s
        res.rate_limited_per_s = res.rate_limited / window_s
        res.sent_per_agent_s = res.sent / window_s / max(1, spec.agents)
    return res
