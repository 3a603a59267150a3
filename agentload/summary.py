"""Per-strategy totals that merge across workers, and the end-of-run comparison table.

Workers send their totals to the master with Locust's ``report_to_master`` event; the master merges
them, so the table printed at the end of a distributed run covers every worker.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .records import STRATEGIES, ErrorKind, TaskRecord, TurnRecord

BASELINE = "http-stateless"


@dataclass
class StrategyTotals:
    tasks_ok: int = 0
    tasks_failed: int = 0
    task_ms: float = 0.0
    task_sent: int = 0
    task_received: int = 0
    task_turns: int = 0
    task_tool_calls: int = 0
    recoveries: int = 0
    retries: int = 0
    turns_started: int = 0  # attempts begun; each ends as one ok or failed (interrupted included) record
    turns_ok: int = 0
    turns_failed: int = 0
    turns_interrupted: int = 0  # cut off by the run stopping: recorded, neither ok nor a server failure
    tasks_interrupted: int = 0
    ttft_ms_sum: float = 0.0
    ttft_n: int = 0
    first_ttft_ms_sum: float = 0.0
    first_ttft_n: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    events: int = 0  # stream events received, every attempt (the generator's work, for bench/)
    failures: dict[str, int] = field(default_factory=dict)
    turn_sent: dict[int, int] = field(default_factory=dict)  # turn index -> bytes sent (ok turns)
    turn_n: dict[int, int] = field(default_factory=dict)

    def add_turn(self, r: TurnRecord) -> None:
        self.events += r.events
        if r.error_kind == ErrorKind.INTERRUPTED:
            self.turns_interrupted += 1
            return
        if not r.ok:
            self.turns_failed += 1
            self.failures[r.error_kind or "error"] = self.failures.get(r.error_kind or "error", 0) + 1
            return
        self.turns_ok += 1
        self.input_tokens += r.input_tokens
        self.cached_tokens += r.cached_tokens
        if r.ttft_ms is not None:
            self.ttft_ms_sum += r.ttft_ms
            self.ttft_n += 1
            if r.turn == 0:
                self.first_ttft_ms_sum += r.ttft_ms
                self.first_ttft_n += 1
        self.turn_sent[r.turn] = self.turn_sent.get(r.turn, 0) + r.bytes_sent
        self.turn_n[r.turn] = self.turn_n.get(r.turn, 0) + 1

    def add_task(self, r: TaskRecord) -> None:
        self.recoveries += r.recoveries
        self.retries += r.retries
        if r.error_kind == ErrorKind.INTERRUPTED:
            self.tasks_interrupted += 1
            return
        if not r.ok:
            self.tasks_failed += 1
            return
        self.tasks_ok += 1
        self.task_ms += r.duration_ms
        self.task_sent += r.bytes_sent
        self.task_received += r.bytes_received
        self.task_turns += r.turns
        self.task_tool_calls += r.tool_calls

    def merge(self, d: dict[str, Any]) -> None:
        for k, v in d.items():
            if k in ("failures", "turn_sent", "turn_n"):
                mine = getattr(self, k)
                for kk, vv in v.items():
                    key = int(kk) if k != "failures" else kk
                    mine[key] = mine.get(key, 0) + vv
            else:
                setattr(self, k, getattr(self, k) + v)

    def mean_turn_sent(self, turn: int) -> float | None:
        n = self.turn_n.get(turn, 0)
        return self.turn_sent[turn] / n if n else None


@dataclass
class RunSummary:
    by_strategy: dict[str, StrategyTotals] = field(default_factory=lambda: defaultdict(StrategyTotals))

    def add_turn(self, r: TurnRecord) -> None:
        self.by_strategy[r.strategy].add_turn(r)

    def add_task(self, r: TaskRecord) -> None:
        self.by_strategy[r.strategy].add_task(r)

    def take(self) -> dict[str, Any]:
        """Everything since the last take, as plain data (what a worker sends to the master)."""
        out = {
            name: {
                **t.__dict__,
                "failures": dict(t.failures),
                "turn_sent": dict(t.turn_sent),
                "turn_n": dict(t.turn_n),
            }
            for name, t in self.by_strategy.items()
        }
        self.by_strategy.clear()
        return out

    def merge(self, data: dict[str, Any]) -> None:
        for name, d in data.items():
            self.by_strategy[name].merge(d)

    def overall(self) -> StrategyTotals:
        """Every strategy's totals added up (the run as a whole)."""
        total = StrategyTotals()
        for t in self.by_strategy.values():
            total.merge(t.__dict__)
        return total

    def rows(self) -> list[dict[str, Any]]:
        """One row per strategy with the comparison figures (None where nothing was measured)."""
        base = self.by_strategy.get(BASELINE)
        base_sent = base.task_sent / base.tasks_ok if base and base.tasks_ok else None
        base_ms = base.task_ms / base.tasks_ok if base and base.tasks_ok else None
        rows = []
        for name in sorted(self.by_strategy, key=lambda s: STRATEGIES.index(s) if s in STRATEGIES else 99):
            t = self.by_strategy[name]
            n = t.tasks_ok
            sent = t.task_sent / n if n else None
            ms = t.task_ms / n if n else None
            t1, t9 = t.mean_turn_sent(0), t.mean_turn_sent(8)
            rows.append(
                {
                    "strategy": name,
                    "tasks": n,
                    "failed_tasks": t.tasks_failed,
                    "turns_per_task": t.task_turns / n if n else None,
                    "sent_per_task": sent,
                    "received_per_task": t.task_received / n if n else None,
                    "sent_reduction": (1 - sent / base_sent) if sent is not None and base_sent else None,
                    "turn1_sent": t1,
                    "turn9_sent": t9,
                    "ttft_mean_ms": t.ttft_ms_sum / t.ttft_n if t.ttft_n else None,
                    "ttft_first_ms": t.first_ttft_ms_sum / t.first_ttft_n if t.first_ttft_n else None,
                    "task_s": ms / 1000 if ms is not None else None,
                    "speedup": (1 - ms / base_ms) if ms is not None and base_ms else None,
                    "cached_share": t.cached_tokens / t.input_tokens if t.input_tokens else None,
                    "recoveries": t.recoveries,
                    "retries": t.retries,
                    "turns_started": t.turns_started,
                    "turns_interrupted": t.turns_interrupted,
                    "tasks_interrupted": t.tasks_interrupted,
                    "turn_failures": t.turns_failed,
                    "turns": t.turns_ok + t.turns_failed,
                    "events": t.events,
                    "failures": dict(t.failures),
                }
            )
        return rows

    def table(self) -> str:
        """The comparison as a Markdown table (readable in a terminal)."""
        return self.table_from_rows(self.rows())

    @staticmethod
    def table_from_rows(rows: list[dict[str, Any]]) -> str:
        def f(v: float | None, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)

        head = (
            "| strategy | tasks | turns/task | KB sent/task | KB recv/task | sent vs stateless | "
            "turn 1 KB | turn 9 KB | TTFT mean ms | TTFT turn 1 ms | s/task | time vs stateless | "
            "cached | recov. | failed turns |"
        )
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in rows:
            lines.append(
                "| "
                + " | ".join(
                    [
                        r["strategy"],
                        str(r["tasks"]),
                        f(r["turns_per_task"], ".1f"),
                        f(r["sent_per_task"] / 1000 if r["sent_per_task"] is not None else None, ".1f"),
                        f(
                            r["received_per_task"] / 1000 if r["received_per_task"] is not None else None,
                            ".1f",
                        ),
                        f(-100 * r["sent_reduction"] if r["sent_reduction"] is not None else None, "+.1f")
                        + " %",
                        f(r["turn1_sent"] / 1000 if r["turn1_sent"] is not None else None, ".2f"),
                        f(r["turn9_sent"] / 1000 if r["turn9_sent"] is not None else None, ".2f"),
                        f(r["ttft_mean_ms"], ".1f"),
                        f(r["ttft_first_ms"], ".1f"),
                        f(r["task_s"], ".2f"),
                        f(-100 * r["speedup"] if r["speedup"] is not None else None, "+.1f") + " %",
                        f(100 * r["cached_share"] if r["cached_share"] is not None else None, ".0f") + " %",
                        str(r["recoveries"]),
                        str(r["turn_failures"]),
                    ]
                )
                + " |"
            )
        return "\n".join(lines)
