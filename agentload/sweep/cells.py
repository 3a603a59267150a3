"""What one sweep cell measured, computed from its records alone (warm-up excluded).

A cell is one Locust run of one strategy at one agent count, task, model and link. Its figures come
from the JSONL records its workers wrote, never from Locust's stats, so a report can be recomputed and
checked from the same files. The measured window starts after the warm-up: a task counts when it
started inside the window, and every turn attempt of a counted task counts (the turns of tasks begun
in the warm-up do not, even when they end later). The cell keeps its Totals, so a report pools cells
exactly (metrics.Totals.merge).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.records import TaskRecord, TurnRecord, record_from_dict
from ..metrics import ComparisonRow, Exposure, Group, Totals, row_of
from ..metrics.sessions import SessionTotals, window_sessions
from ..metrics.slo import Objective
from ..metrics.spread import Samples, TurnSamples
from .spec import CellSpec


@dataclass(frozen=True)
class CellResult:
    spec: CellSpec
    window_start: float  # unix time the measured window began (the first task's start + warm-up)
    window_s: float  # measured seconds
    totals: Totals
    samples: Samples = field(default_factory=Samples)  # per counted task and turn: the spread
    turns: TurnSamples = field(default_factory=TurnSamples)  # per task and turn: the per-turn charts
    sessions: SessionTotals = field(default_factory=SessionTotals)  # roots started in the window, whole

    @property
    def exposure(self) -> Exposure:
        return Exposure(agent_s=self.window_s * self.spec.agents_total)

    def group(self) -> Group:
        s = self.spec
        return Group(s.strategy, self.totals, s.link, self.exposure, self.samples, self.window_s, s.variant)

    def row(self, objectives: tuple[Objective, ...] = ()) -> ComparisonRow:
        return row_of(self.group(), None, objectives=objectives)

    def as_dict(self, objectives: tuple[Objective, ...] = ()) -> dict[str, Any]:
        """The cell as cells.jsonl keeps it: its totals, and the figures a reader looks for."""
        t, r, w = self.totals, self.row(objectives), self.window_s
        return {
            "spec": asdict(self.spec),
            "window_start": self.window_start,
            "window_s": w,
            "tasks_ok": t.tasks_ok,
            "tasks_failed": t.tasks_failed,
            "turns_ok": t.turns_ok,
            "turn_attempts": t.turn_attempts,
            "rate_limited": t.rate_limited,
            "failures": dict(t.failures),
            "sent": t.sent,
            "received": t.received,
            "sent_per_task": r.sent_per_task,
            "received_per_task": r.received_per_task,
            "task_s": r.task_s,
            "ttft_mean_ms": r.ttft_mean_ms,
            "ttft_first_ms": r.ttft_first_ms,
            "sent_by_turn": list(r.sent_by_turn),
            "ttft_by_turn": [t.mean_turn_ttft(i) for i in range(t.depth)],
            "turns_per_s": t.turns_ok / w if w > 0 else 0.0,
            "tasks_per_s": (t.tasks_ok + t.tasks_failed) / w if w > 0 else 0.0,
            "rate_limited_per_s": t.rate_limited / w if w > 0 else 0.0,
            "sent_per_agent_s": r.sent_per_agent_s or 0.0,
            "slo": [v.as_dict() for v in r.slo] if r.slo is not None else None,
            "slo_met": r.slo_met,
            "goodput_tasks_per_s": r.goodput_tasks_per_s,
            "totals": t.as_dict(),
            "samples": self.samples.as_dict(),
            "turn_samples": self.turns.as_dict(),
            "sessions": self.sessions.as_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellResult:
        samples = Samples().merge(d.get("samples") or {})  # cells written before samples: none
        turns = TurnSamples().merge(d.get("turn_samples") or {})
        return cls(
            CellSpec.from_dict(d["spec"]),
            d["window_start"],
            d["window_s"],
            Totals.from_dict(d["totals"]),
            samples,
            turns,
            SessionTotals.from_dict(d.get("sessions") or {}),  # cells written before sessions: none
        )


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record the cell's processes wrote (``records*.jsonl``: one file per worker), each with the
    file it came from as its ``source`` (agent ids are numbered per process: an agent is its source and
    its id)."""
    out: list[dict[str, Any]] = []
    for f in sorted(folder.glob("records*.jsonl")):
        out += [{**json.loads(line), "source": f.name} for line in f.read_text().splitlines() if line.strip()]
    return out


def measure(
    spec: CellSpec, records: list[dict[str, Any]], window_start: float, window_s: float
) -> CellResult:
    """The cell's figures from its records: tasks started in [window_start, window_start + window_s)."""
    end = window_start + window_s
    counted = {
        (r.get("source"), r["agent"], r["task_seq"])
        for r in records
        if r["kind"] == "task" and window_start <= r["started_at"] < end
    }
    tally = Tally()
    for r in records:
        if (r.get("source"), r["agent"], r["task_seq"]) in counted:
            tally.add(r)
    sessions = window_sessions(records, window_start, window_s)
    return CellResult(spec, window_start, window_s, tally.totals, tally.samples, tally.turns, sessions)


@dataclass
class Tally:
    """Records (as their JSON lines read back) into the Totals, Samples and TurnSamples they make."""

    totals: Totals = field(default_factory=Totals)
    samples: Samples = field(default_factory=Samples)
    turns: TurnSamples = field(default_factory=TurnSamples)

    def add(self, r: dict[str, Any]) -> None:
        if r["kind"] == "turn":
            turn = record_from_dict(TurnRecord, r)
            self.totals.add_attempt()
            self.totals.add_turn(turn)
            self.samples.add_turn(turn)
            self.turns.add_turn(turn)
        else:
            task = record_from_dict(TaskRecord, r)
            self.totals.add_task(task)
            self.samples.add_task(task)
