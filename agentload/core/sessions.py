"""Sessions linked from their records: a session is a root task and the subagents below it.

Subagents run in the process of the agent that spawned them and each one's record is written before its
parent's (the parent waits for them), so a process can close a session when its root's record arrives.
``SessionLinker`` holds the open sessions' sums and hands back each one it closes; the summary adds them
to per-strategy totals (metrics.sessions), InfluxDB writes them as points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .records import ErrorKind, TaskRecord, TurnRecord


class LimitType(StrEnum):
    """What a 429 limited: the mock's and OpenAI's error types, and a quota (no wait fixes it)."""

    REQUESTS = "requests"
    TOKENS = "tokens"
    CONNECTIONS = "connections"
    QUOTA = "quota"
    OTHER = "other"


def limit_type(r: TurnRecord) -> LimitType | None:
    """The kind of 429 a turn attempt met, or None when it met none (a refused WebSocket upgrade and a
    connection limit reached mid-socket count as connections)."""
    if r.error_kind == ErrorKind.CONNECTION_LIMIT:
        return LimitType.CONNECTIONS
    if r.error_kind == ErrorKind.QUOTA:
        return LimitType.QUOTA
    if r.http_status != 429 and r.error_kind != ErrorKind.RATE_LIMITED:
        return None
    try:
        return LimitType(r.error_type or "")
    except ValueError:
        return LimitType.OTHER


@dataclass(frozen=True)
class Session:
    """One closed session: its root's record and the sums over the root and every subagent below it."""

    root: TaskRecord
    sent: int
    received: int
    tasks: int  # the root and its subagents
    subagent_ms: float
    limited: dict[str, int]  # LimitType -> 429 attempts, the root's and its subagents'
    connects: int = 0  # WebSocket connections its turns opened (handshakes; 0 over HTTP)

    @property
    def subagents(self) -> int:
        return self.tasks - 1


@dataclass
class _Open:
    """An open session's sums so far (its tasks recorded, its turns' 429s)."""

    sent: int = 0
    received: int = 0
    tasks: int = 0
    subagent_ms: float = 0.0
    limited: dict[str, int] = field(default_factory=dict)
    connects: int = 0

    def take(self, other: _Open) -> None:
        self.sent += other.sent
        self.received += other.received
        self.tasks += other.tasks
        self.subagent_ms += other.subagent_ms
        self.connects += other.connects
        for k, v in other.limited.items():
            self.limited[k] = self.limited.get(k, 0) + v


class SessionLinker:
    """One process's open sessions as their records arrive: a task's sums go to its root's open session;
    a root's record closes it."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int, int], _Open] = {}

    def add_turn(self, r: TurnRecord) -> None:
        kind = limit_type(r)
        if kind is None and not r.connect_bytes_sent:
            return
        s = self._open.setdefault((r.strategy, r.agent, r.task_seq), _Open())
        if kind is not None:
            s.limited[kind] = s.limited.get(kind, 0) + 1
        if r.connect_bytes_sent:
            s.connects += 1

    def add_task(self, r: TaskRecord) -> Session | None:
        """Add a task's record; the session it closes (a root's), else None."""
        s = self._open.pop((r.strategy, r.agent, r.task_seq), None) or _Open()
        s.sent += r.bytes_sent
        s.received += r.bytes_received
        s.tasks += 1
        if r.root_seq is None:
            limited = dict(sorted(s.limited.items()))
            return Session(r, s.sent, s.received, s.tasks, s.subagent_ms, limited, s.connects)
        s.subagent_ms += r.duration_ms
        self._open.setdefault((r.strategy, r.agent, r.root_seq), _Open()).take(s)
        return None

    @property
    def open(self) -> int:
        """Sessions with records but no root's yet."""
        return len(self._open)

    def clear(self) -> None:
        self._open.clear()
