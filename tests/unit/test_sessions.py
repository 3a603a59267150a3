"""Per session figures over synthetic records: a root task and its subagents closed as one session when
the root's record arrives, 429s by type, exact merges across workers, the rows and the table."""

from __future__ import annotations

from agentload.core.records import ErrorKind, TaskRecord, TurnRecord
from agentload.core.sessions import LimitType
from agentload.metrics.sessions import (
    SessionTotals,
    SessionTracker,
    session_html,
    session_markdown,
    session_rows,
    window_sessions,
)


def task(
    seq: int,
    ms: float,
    sent: int,
    root: int | None = None,
    ok: bool = True,
    kind: str | None = None,
    agent: int = 1,
    strategy: str = "ws",
) -> TaskRecord:
    return TaskRecord(strategy, "t", "m", agent, seq, 0.0, ms, 3, 2, sent, 2 * sent, ok=ok, error_kind=kind,
                      parent_seq=root, root_seq=root, depth=0 if root is None else 1)  # fmt: skip


def limited(
    seq: int, kind: str = ErrorKind.RATE_LIMITED, etype: str | None = "requests", agent: int = 1
) -> TurnRecord:
    return TurnRecord("ws", "t", "m", agent, seq, 0, 0.0, 5.0, None, 100, 0, ok=False, error_kind=kind,
                      http_status=429, error_type=etype)  # fmt: skip


def test_a_root_closes_its_session_with_its_subagents() -> None:
    tr = SessionTracker()
    tr.add_turn(limited(2))  # a subagent's 429
    tr.add_turn(limited(1, ErrorKind.CONNECTION_LIMIT, None))  # the root's refused connection
    for seq in (1, 3):  # the root's and one subagent's WebSocket handshakes
        tr.add_turn(TurnRecord("ws", "t", "m", 1, seq, 0, 0.0, 5.0, 1.0, 300, 9, connect_bytes_sent=200))
    for seq in (2, 3, 4):
        tr.add_task(task(seq, 400.0, 1000, root=1))
    assert not tr.by_strategy  # still open: its root is not recorded
    tr.add_task(task(1, 1000.0, 5000))
    t = tr.by_strategy["ws"]
    assert (t.sessions_ok, t.session_ms, t.session_sent, t.session_received) == (1, 1000.0, 8000, 16000)
    assert (t.subagents, t.subagent_ms, t.session_tasks, t.sessions_with_subagents) == (3, 1200.0, 4, 1)
    assert t.limited == {LimitType.REQUESTS: 1, LimitType.CONNECTIONS: 1}
    assert t.connects == 2
    assert not tr.open
    assert tr.spawned


def test_agents_sessions_kept_apart_and_failed_roots_counted() -> None:
    tr = SessionTracker()
    tr.add_task(task(2, 100.0, 10, root=1, agent=1))
    tr.add_task(task(2, 100.0, 99, root=1, agent=2))  # another agent's subagent, same sequence numbers
    tr.add_task(task(1, 300.0, 1, agent=1))
    tr.add_task(task(1, 300.0, 1, agent=2, ok=False, kind=ErrorKind.SERVER))
    tr.add_task(task(3, 50.0, 7, agent=1, ok=False, kind=ErrorKind.INTERRUPTED))
    t = tr.by_strategy["ws"]
    assert (t.sessions_ok, t.sessions_failed, t.sessions_interrupted, t.ended) == (1, 1, 1, 3)
    assert t.session_sent == 11  # agent 1's root and its own subagent only
    assert not tr.open


def test_plain_tasks_are_sessions_of_one_and_spawn_nothing() -> None:
    tr = SessionTracker()
    for seq in range(3):
        tr.add_task(task(seq, 100.0, 10))
    assert tr.by_strategy["ws"].sessions_ok == 3 and not tr.spawned
    assert tr.by_strategy["ws"].subagents == 0


def test_workers_merge_exactly_and_rows_are_means_of_sums() -> None:
    a, b = SessionTracker(), SessionTracker()
    a.add_task(task(2, 500.0, 1000, root=1))
    a.add_task(task(1, 1000.0, 1000))
    b.add_task(task(1, 3000.0, 4000))
    b.add_turn(limited(5, etype="tokens"))  # the failed session's 429
    b.add_task(task(5, 10.0, 1, ok=False, kind=ErrorKind.RATE_LIMITED))
    master = SessionTracker()
    master.merge(a.take())
    master.merge(b.take())
    assert not a.by_strategy  # taken
    t = master.by_strategy["ws"]
    assert t == SessionTotals.from_dict(t.as_dict())
    (row,) = session_rows(master.by_strategy)
    assert (row.sessions, row.failed, row.mean_s) == (2, 1, 2.0)
    assert (row.sent_per_session, row.subagents_per_session, row.subagent_s_per_session) == (
        3000.0,
        0.5,
        0.25,
    )
    assert row.limited == {"tokens": 1}
    table = session_markdown([row])
    assert "| ws | 2 | 1 | 2.00 | 3.0 | 6.0 | 0.5 | 0.25 | 0.0 | tokens 1 |" in table


def test_limit_types() -> None:
    from agentload.core.sessions import limit_type

    ok = TurnRecord("ws", "t", "m", 1, 1, 0, 0.0, 5.0, 1.0, 100, 0)
    assert limit_type(ok) is None
    assert limit_type(limited(1, etype="connections")) == LimitType.CONNECTIONS
    assert limit_type(limited(1, etype="weird")) == LimitType.OTHER
    assert limit_type(limited(1, ErrorKind.QUOTA, None)) == LimitType.QUOTA


def test_a_cells_sessions_are_those_whose_root_started_in_its_window() -> None:
    """A sweep cell counts a session when its root started in the window, with every subagent below it
    (one that started after the window's end too); another process's records (source) are apart."""

    def rec(r: TaskRecord | TurnRecord, source: str) -> dict[str, object]:
        return {**r.as_dict(), "source": source}

    early, inside, child = task(1, 100.0, 1), task(2, 500.0, 10), task(3, 300.0, 5, root=2)
    early.started_at, inside.started_at, child.started_at = 1.0, 10.0, 25.0
    other = task(2, 900.0, 99)  # another worker's agent 1, task 2: a session of its own, outside
    other.started_at = 30.0
    records = [rec(limited(3), "a"), rec(child, "a"), rec(inside, "a"), rec(early, "a"), rec(other, "b")]
    t = window_sessions(records, 5.0, 20.0)
    assert (t.sessions_ok, t.session_sent, t.subagents, t.limited) == (1, 15, 1, {"requests": 1})
    html = session_html(session_rows({"ws": t}), "sessions")
    assert html.startswith("<table id='sessions'>") and "<td data-key='sessions'>1</td>" in html
