"""The InfluxDB line protocol agentload writes (agentload.influx.schema), against literal lines: the
tags come from the schema's one list of them (COMMON_TAGS, RECORD_TAGS, TURN_TAGS), sorted, escaped,
empty ones left out; the fields in the schema's order, None ones left out."""

from __future__ import annotations

from agentload.core.records import ErrorKind, TaskRecord, TurnRecord
from agentload.influx import schema

TAGS = schema.PointTags(run_id="r1", worker="w 1", host="mock,a")


def test_a_failed_turn_is_one_exact_line() -> None:
    rec = TurnRecord(
        strategy="ws", task="fix-failing-test", model="gpt-5.4", agent=3, task_seq=2, turn=1,
        started_at=1700000000.25, duration_ms=412.3071, ttft_ms=120.5, bytes_sent=100, bytes_received=2000,
        input_tokens=50, ok=False, error_kind=ErrorKind.RATE_LIMITED, error_code="rate_limit_exceeded",
        error_type="tokens", http_status=429, retry_after_ms=1000.0, profile="codex",
    )  # fmt: skip
    assert schema.turn_line(rec, TAGS, 1700000000000000001) == (
        "agentload_turn,host=mock\\,a,model=gpt-5.4,outcome=rate_limited,profile=codex,run_id=r1,"
        "strategy=ws,task=fix-failing-test,turn=1,worker=w\\ 1 "
        "duration_ms=412.3071,ttft_ms=120.5,wait_ms=0.0,retry_after_ms=1000.0,bytes_sent=100i,"
        "bytes_received=2000i,payload_bytes_sent=0i,payload_bytes_received=0i,connect_bytes_sent=0i,"
        "connect_bytes_received=0i,input_tokens=50i,"
        "tool_calls=0i,events=0i,agent=3i,task_seq=2i,attempt=0i,ok=0i,recovery=0i,http_status=429i,"
        'started_at=1700000000.25,error_code="rate_limit_exceeded",error_type="tokens" 1700000000000000001'
    )


def test_a_successful_turn_leaves_out_none_fields_and_empty_tags() -> None:
    """(Its server reported no usage: its token fields are not written, unknown rather than 0.)"""
    rec = TurnRecord(
        strategy="http", task="x", model="m", agent=0, task_seq=0, turn=0, started_at=1.0, duration_ms=1.0,
        ttft_ms=None, bytes_sent=1, bytes_received=2, profile="",
    )  # fmt: skip
    assert schema.turn_line(rec, TAGS, 5) == (
        "agentload_turn,host=mock\\,a,model=m,outcome=ok,run_id=r1,strategy=http,task=x,turn=0,"
        "worker=w\\ 1 duration_ms=1.0,wait_ms=0.0,bytes_sent=1i,bytes_received=2i,payload_bytes_sent=0i,"
        "payload_bytes_received=0i,connect_bytes_sent=0i,connect_bytes_received=0i,"
        "tool_calls=0i,events=0i,agent=0i,"
        "task_seq=0i,attempt=0i,ok=1i,recovery=0i,started_at=1.0 5"
    )


def test_tasks_are_exact_lines_and_a_failure_without_a_kind_is_error() -> None:
    ok = TaskRecord(
        strategy="ws", task="fix-failing-test", model="gpt-5.4", agent=3, task_seq=2,
        started_at=1700000000.5, duration_ms=9000.0, turns=4, tool_calls=5, bytes_sent=10, bytes_received=20,
        ttft_first_ms=100.0, ttft_max_ms=200.0,
    )  # fmt: skip
    assert schema.task_line(ok, TAGS, 7) == (
        "agentload_task,host=mock\\,a,model=gpt-5.4,outcome=ok,profile=minimal,run_id=r1,strategy=ws,"
        "task=fix-failing-test,worker=w\\ 1 duration_ms=9000.0,tool_time_ms=0.0,ttft_first_ms=100.0,"
        "ttft_max_ms=200.0,rate_limit_wait_ms=0.0,turns=4i,payload_bytes_sent=0i,payload_bytes_received=0i,"
        "tool_calls=5i,bytes_sent=10i,bytes_received=20i,input_tokens=0i,cached_tokens=0i,output_tokens=0i,"
        "reasoning_tokens=0i,usage_unknown_turns=0i,recoveries=0i,retries=0i,rate_limited=0i,agent=3i,task_seq=2i,ok=1i,"
        "started_at=1700000000.5 7"
    )
    failed = TaskRecord(
        strategy="ws", task="t", model="m", agent=0, task_seq=0, started_at=1.0, duration_ms=1.0, turns=0,
        tool_calls=0, bytes_sent=0, bytes_received=0, ok=False,
    )  # fmt: skip
    assert schema.task_line(failed, TAGS, 8).startswith(
        "agentload_task,host=mock\\,a,model=m,outcome=error,profile=minimal,run_id=r1,strategy=ws,task=t,"
        "worker=w\\ 1 duration_ms=1.0,"
    )


def test_the_tag_lists_are_the_tags_written() -> None:
    rec = TurnRecord("s", "t", "m", 0, 0, 0, 1.0, 1.0, None, 0, 0, link="broadband")
    tags = schema.turn_line(rec, TAGS, 1).split(" ", 1)[0].replace("\\ ", "").split(",")[1:]
    keys = {t.split("=", 1)[0] for t in tags if "=" in t}
    assert keys == {*schema.COMMON_TAGS, *schema.TURN_TAGS}
    assert schema.throughput_line(TAGS, {"turns": 3, "turns_per_s": 1.5}, 9) == (
        "agentload_throughput,host=mock\\,a,run_id=r1,worker=w\\ 1 turns=3i,turns_per_s=1.5 9"
    )


def test_a_session_is_one_exact_line_with_its_subagents_sums() -> None:
    """A root task and its two subagents closed by the tracker: the root's tags and wall time, the sums
    of all three's bytes, the 429s by type (only those met)."""
    from agentload.core.sessions import SessionLinker as SessionTracker

    def task(seq: int, root: int | None, ms: float, sent: int) -> TaskRecord:
        return TaskRecord("ws-mux", "fan-out-forks", "m", 3, seq, 1.5, ms, 2, 1, sent, 10 * sent, root_seq=root,
                          parent_seq=root)  # fmt: skip

    tracker = SessionTracker()
    tracker.add_turn(TurnRecord("ws-mux", "x", "m", 3, 8, 0, 1.0, 1.0, None, 5, 0, ok=False,
                                error_kind=ErrorKind.RATE_LIMITED, http_status=429, error_type="tokens"))  # fmt: skip
    assert tracker.add_task(task(8, 7, 400.0, 5)) is None
    assert tracker.add_task(task(9, 7, 300.0, 5)) is None
    session = tracker.add_task(task(7, None, 1000.0, 10))
    assert session is not None and session.subagents == 2
    assert schema.session_line(session, TAGS, 9) == (
        "agentload_session,host=mock\\,a,model=m,outcome=ok,profile=minimal,run_id=r1,strategy=ws-mux,"
        "task=fan-out-forks,worker=w\\ 1 duration_ms=1000.0,subagent_ms=700.0,bytes_sent=20i,"
        "bytes_received=200i,tasks=3i,subagents=2i,connects=0i,agent=3i,task_seq=7i,rate_limited_tokens=1i,ok=1i,"
        "started_at=1.5 9"
    )
    keys = {f.split("=")[0] for f in schema.session_line(session, TAGS, 9).rsplit(" ", 2)[1].split(",")}
    known = {*schema.SESSION_INT_FIELDS, *schema.SESSION_FLOAT_FIELDS, *schema.SESSION_LIMIT_FIELDS}
    assert keys - known == {"ok", "started_at"}
