"""The one accumulator of what agents measured: records go in, exact sums come out, and two merge exactly.

A ``Totals`` holds one strategy's (or one sweep cell's) counts and sums. The end-of-run summary keeps
one per strategy and merges the workers' into the master's; a sweep cell is the Totals of the records
of the tasks it counted; a report pools cells by merging their Totals. Every mean in every table is a
sum divided by a count from here, so figures pooled across workers or cells are exact, never means of
means.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..core.records import ErrorKind, TaskRecord, TurnRecord

_MAPS = ("failures", "turn_sent", "turn_n", "turn_ttft_ms", "turn_ttft_n")
_INT_KEYED = ("turn_sent", "turn_n", "turn_ttft_ms", "turn_ttft_n")


@dataclass
class Totals:
    tasks_ok: int = 0
    tasks_failed: int = 0
    tasks_interrupted: int = 0
    task_ms: float = 0.0  # completed tasks
    task_sent: int = 0
    task_received: int = 0
    task_payload_sent: int = 0  # the same tasks' bytes before compression
    task_payload_received: int = 0
    task_turns: int = 0
    task_tool_calls: int = 0
    recoveries: int = 0
    retries: int = 0
    turns_started: int = 0  # attempts begun; each ends as one ok, failed or interrupted record
    turns_ok: int = 0
    turns_failed: int = 0
    turns_interrupted: int = 0  # cut off by the run stopping: recorded, neither ok nor a server failure
    sent: int = 0  # every attempt's bytes, failed and cut-off ones and handshakes included
    received: int = 0
    ttft_ms_sum: float = 0.0  # successful turns
    ttft_n: int = 0
    first_ttft_ms_sum: float = 0.0
    first_ttft_n: int = 0
    input_tokens: int = 0  # ok turns whose usage is known
    cached_tokens: int = 0
    turns_usage_unknown: int = 0  # ok turns whose server reported no usage (their tokens unknown, not 0)
    sessions_dropped: int = 0  # open-loop session arrivals that found no free agent
    events: int = 0  # stream events received, every attempt (the generator's work, for bench/)
    failures: dict[str, int] = field(default_factory=dict)  # error kind -> failed attempts
    turn_sent: dict[int, int] = field(default_factory=dict)  # turn index -> bytes sent (ok turns)
    turn_n: dict[int, int] = field(default_factory=dict)  # turn index -> ok turns
    turn_ttft_ms: dict[int, float] = field(default_factory=dict)  # turn index -> TTFT sum (ok turns)
    turn_ttft_n: dict[int, int] = field(default_factory=dict)

    # ------------------------------------------------------------------------------ accumulate
    def add_attempt(self) -> None:
        self.turns_started += 1

    def add_turn(self, r: TurnRecord) -> None:
        self.events += r.events
        self.sent += r.bytes_sent
        self.received += r.bytes_received
        if r.error_kind == ErrorKind.INTERRUPTED:
            self.turns_interrupted += 1
            return
        if not r.ok:
            self.turns_failed += 1
            kind = r.error_kind or "error"
            self.failures[kind] = self.failures.get(kind, 0) + 1
            return
        self.turns_ok += 1
        if r.input_tokens is None:
            self.turns_usage_unknown += 1
        else:
            self.input_tokens += r.input_tokens
            self.cached_tokens += r.cached_tokens or 0
        self.turn_sent[r.turn] = self.turn_sent.get(r.turn, 0) + r.bytes_sent
        self.turn_n[r.turn] = self.turn_n.get(r.turn, 0) + 1
        if r.ttft_ms is not None:
            self.ttft_ms_sum += r.ttft_ms
            self.ttft_n += 1
            self.turn_ttft_ms[r.turn] = self.turn_ttft_ms.get(r.turn, 0.0) + r.ttft_ms
            self.turn_ttft_n[r.turn] = self.turn_ttft_n.get(r.turn, 0) + 1
            if r.turn == 0:
                self.first_ttft_ms_sum += r.ttft_ms
                self.first_ttft_n += 1

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
        self.task_payload_sent += r.payload_bytes_sent
        self.task_payload_received += r.payload_bytes_received
        self.task_turns += r.turns
        self.task_tool_calls += r.tool_calls

    # ------------------------------------------------------------------------------ combine
    def merge(self, other: Totals | dict[str, Any]) -> Totals:
        """Add ``other`` (another Totals, or one as plain data from a worker) into this one."""
        data = other.as_dict() if isinstance(other, Totals) else other
        for k, v in data.items():
            if k in _MAPS:
                mine = getattr(self, k)
                for kk, vv in v.items():
                    key = int(kk) if k in _INT_KEYED else kk
                    mine[key] = mine.get(key, 0) + vv
            elif hasattr(self, k):
                setattr(self, k, getattr(self, k) + v)
        return self

    def minus(self, earlier: Totals) -> Totals:
        """What was added since ``earlier`` (two reads of the same running Totals)."""
        out = Totals()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(earlier, f.name)
            if f.name in _MAPS:
                setattr(out, f.name, {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)})
            else:
                setattr(out, f.name, a - b)
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Totals:
        return cls().merge(data)

    # ------------------------------------------------------------------------------ read
    @property
    def rate_limited(self) -> int:
        return self.failures.get(ErrorKind.RATE_LIMITED, 0)

    @property
    def turn_attempts(self) -> int:
        """Attempts that ended (ok or failed); cut-off ones are counted apart."""
        return self.turns_ok + self.turns_failed

    def mean_turn_sent(self, turn: int) -> float | None:
        n = self.turn_n.get(turn, 0)
        return self.turn_sent[turn] / n if n else None

    def mean_turn_ttft(self, turn: int) -> float | None:
        n = self.turn_ttft_n.get(turn, 0)
        return self.turn_ttft_ms[turn] / n if n else None

    @property
    def depth(self) -> int:
        """Turns deep the successful turns went (turn indices 0 .. depth-1)."""
        return max(self.turn_n, default=-1) + 1


def summed(items: list[Totals]) -> Totals:
    """Every Totals added up into a new one."""
    out = Totals()
    for t in items:
        out.merge(t)
    return out
