"""Per session figures: a session is a root task and the subagents below it, measured as one.

A task's figures leave out its subagents (each is a task of its own), so what an engineer waits for and
what a session puts on the wire is only seen over the whole tree. Each process links its records into
sessions (core.sessions) and adds each one closed to its strategy's ``SessionTotals``: sums and counts
that merge exactly (workers into the master), as ``Totals`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from ..core.records import ErrorKind, TaskRecord, TurnRecord, record_from_dict
from ..core.sessions import Session, SessionLinker


@dataclass
class SessionTotals:
    """One strategy's sessions: counts and sums (means are a sum over a count, exact when merged)."""

    sessions_ok: int = 0  # the root task completed (a failed subagent's answer is what failed)
    sessions_failed: int = 0
    sessions_interrupted: int = 0  # the run stopped under the root
    session_ms: float = 0.0  # finished sessions: the root's wall time (its subagents ran inside it)
    session_sent: int = 0  # finished sessions: every task's bytes, the root's and its subagents'
    session_received: int = 0
    session_tasks: int = 0  # finished sessions: the root and its subagents
    subagents: int = 0  # finished sessions: subagents spawned, every depth
    subagent_ms: float = 0.0  # finished sessions: the subagents' wall times added up
    sessions_with_subagents: int = 0  # finished sessions that spawned any
    connects: int = 0  # finished sessions: WebSocket connections their turns opened (0 over HTTP)
    limited: dict[str, int] = field(default_factory=dict)  # LimitType -> 429 attempts, every ended session

    def add(self, s: Session) -> None:
        for k, v in s.limited.items():
            self.limited[k] = self.limited.get(k, 0) + v
        if s.root.error_kind == ErrorKind.INTERRUPTED:
            self.sessions_interrupted += 1
            return
        if not s.root.ok:
            self.sessions_failed += 1
            return
        self.sessions_ok += 1
        self.session_ms += s.root.duration_ms
        self.session_sent += s.sent
        self.session_received += s.received
        self.session_tasks += s.tasks
        self.subagents += s.tasks - 1
        self.subagent_ms += s.subagent_ms
        self.sessions_with_subagents += s.tasks > 1
        self.connects += s.connects

    def merge(self, other: SessionTotals | dict[str, Any]) -> SessionTotals:
        """Add ``other`` (another SessionTotals, or one as plain data from a worker) into this one."""
        data = other.as_dict() if isinstance(other, SessionTotals) else other
        for k, v in data.items():
            if k == "limited":
                for kk, vv in v.items():
                    self.limited[kk] = self.limited.get(kk, 0) + vv
            elif hasattr(self, k):
                setattr(self, k, getattr(self, k) + v)
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionTotals:
        return cls().merge(data)

    @property
    def ended(self) -> int:
        return self.sessions_ok + self.sessions_failed + self.sessions_interrupted


class SessionTracker:
    """Sessions of one process as their records arrive, each one closed added to its strategy's
    SessionTotals (``by_strategy``)."""

    def __init__(self) -> None:
        self.by_strategy: dict[str, SessionTotals] = {}
        self._linker = SessionLinker()

    def add_turn(self, r: TurnRecord) -> None:
        self._linker.add_turn(r)

    def add_task(self, r: TaskRecord) -> Session | None:
        done = self._linker.add_task(r)
        if done is not None:
            self.by_strategy.setdefault(r.strategy, SessionTotals()).add(done)
        return done

    @property
    def open(self) -> int:
        return self._linker.open

    def take(self) -> dict[str, Any]:
        """The sessions closed since the last take, as plain data (what a worker sends to the master);
        open ones stay until their roots are recorded."""
        out = {name: t.as_dict() for name, t in self.by_strategy.items()}
        self.by_strategy.clear()
        return out

    def merge(self, data: dict[str, Any]) -> None:
        for name, d in data.items():
            self.by_strategy.setdefault(name, SessionTotals()).merge(d)

    def clear(self) -> None:
        self.by_strategy.clear()
        self._linker.clear()

    @property
    def spawned(self) -> bool:
        """Any closed session had subagents."""
        return any(t.subagents for t in self.by_strategy.values())


@dataclass(frozen=True)
class SessionRow:
    """One strategy's session figures as every view shows them (None where nothing finished)."""

    label: str
    sessions: int
    failed: int
    interrupted: int
    mean_s: float | None  # wall time per finished session
    sent_per_session: float | None  # bytes
    received_per_session: float | None
    subagents_per_session: float | None
    subagent_s_per_session: float | None  # the subagents' wall times added up: what ran in parallel
    connects_per_session: float | None  # WebSocket connections opened (a lane of ws-mux opens none)
    limited: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def session_row(label: str, t: SessionTotals) -> SessionRow:
    n = t.sessions_ok

    def per(v: float) -> float | None:
        return v / n if n else None

    return SessionRow(
        label=label,
        sessions=n,
        failed=t.sessions_failed,
        interrupted=t.sessions_interrupted,
        mean_s=None if not n else t.session_ms / n / 1000,
        sent_per_session=per(t.session_sent),
        received_per_session=per(t.session_received),
        subagents_per_session=per(t.subagents),
        subagent_s_per_session=None if not n else t.subagent_ms / n / 1000,
        connects_per_session=per(t.connects),
        limited=dict(sorted(t.limited.items())),
    )


def session_rows(by_strategy: dict[str, SessionTotals]) -> list[SessionRow]:
    return [session_row(name, t) for name, t in by_strategy.items()]


SESSION_TITLES = (
    "strategy", "sessions", "unfinished", "s/session", "KB sent/session", "KB recv/session",
    "subagents/session", "subagent s/session", "WS connections/session", "429s by type",
)  # fmt: skip


def session_cells(r: SessionRow) -> list[str]:
    """A row's figures as text, '-' where nothing was measured."""

    def f(v: float | None, scale: float = 1.0, fmt: str = ".2f") -> str:
        return "-" if v is None else format(v / scale, fmt)

    limited = ", ".join(f"{k} {v}" for k, v in r.limited.items()) or "0"
    return [
        r.label, str(r.sessions), str(r.failed + r.interrupted), f(r.mean_s), f(r.sent_per_session, 1000, ".1f"),
        f(r.received_per_session, 1000, ".1f"), f(r.subagents_per_session, fmt=".1f"),
        f(r.subagent_s_per_session), f(r.connects_per_session, fmt=".1f"), limited,
    ]  # fmt: skip


def session_markdown(rows: Sequence[SessionRow]) -> str:
    lines = ["| " + " | ".join(SESSION_TITLES) + " |", "|" + "---|" * len(SESSION_TITLES)]
    lines += ["| " + " | ".join(session_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def session_html(rows: Sequence[SessionRow], table_id: str) -> str:
    """The session table as the report's HTML shows it (each cell with its column's title as data-key)."""
    head = "".join(f"<th>{escape(t)}</th>" for t in SESSION_TITLES)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td data-key='{escape(k)}'>{escape(v)}</td>"
            for k, v in zip(SESSION_TITLES, session_cells(r), strict=True)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table id='{table_id}'><tr>{head}</tr>{body}</table>"


def window_sessions(records: Sequence[dict[str, Any]], window_start: float, window_s: float) -> SessionTotals:
    """The sessions of records read back (JSON lines, each with its file as ``source``) whose root task
    started in [window_start, window_start + window_s): a sweep cell's, counted as its tasks are (a
    root counted brings every subagent below it, whenever that started)."""
    end = window_start + window_s
    root_of: dict[tuple[Any, int, int], int] = {}
    counted: set[tuple[Any, int, int]] = set()
    for r in records:
        if r["kind"] != "task":
            continue
        root = r.get("root_seq")
        root_of[(r.get("source"), r["agent"], r["task_seq"])] = r["task_seq"] if root is None else root
        if root is None and window_start <= r["started_at"] < end:
            counted.add((r.get("source"), r["agent"], r["task_seq"]))
    tracker = SessionTracker()
    for r in records:
        key = (r.get("source"), r["agent"], r["task_seq"])
        if key not in root_of or (key[0], key[1], root_of[key]) not in counted:
            continue
        if r["kind"] == "turn":
            tracker.add_turn(record_from_dict(TurnRecord, r))
        else:
            tracker.add_task(record_from_dict(TaskRecord, r))
    return summed_sessions(list(tracker.by_strategy.values()))


def summed_sessions(items: Sequence[SessionTotals]) -> SessionTotals:
    out = SessionTotals()
    for t in items:
        out.merge(t)
    return out
