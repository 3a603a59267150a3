"""The agent loop's state machine against a scripted transport: every attempt recorded, retries and 429
waits as further attempts of the same turn, recoveries resending the full context, an interrupted turn
recorded with its bytes."""

from __future__ import annotations

import random
from typing import Any, NoReturn

import gevent
import pytest

from agentload.client import Agent, AgentSettings, On429, TurnOutcome
from agentload.client.stream import FunctionCall
from agentload.core.records import ErrorKind, TaskRecord, TurnRecord
from agentload.core.strategies import BY_NAME
from agentload.workload import load_task
from tests.servers import wait_for
from tests.unit.fakes import FakeTransport, Step, failed, ok, rate_limited

TASK = load_task("fix-failing-test")


def run(
    strategy: str, script: list[Step], **settings_kw: Any
) -> tuple[TaskRecord, list[TurnRecord], list[float], FakeTransport]:
    transport = FakeTransport(script, websocket=BY_NAME[strategy].websocket)
    settings = AgentSettings(BY_NAME[strategy], "gpt-5.4", tool_latency_scale=0, **settings_kw)
    turns: list[TurnRecord] = []
    tasks: list[TaskRecord] = []
    sleeps: list[float] = []
    started: list[str] = []
    agent = Agent(
        settings,
        transport,
        7,
        on_turn=lambda rec, _out: turns.append(rec),
        on_task=tasks.append,
        sleep=sleeps.append,
        on_attempt=started.append,
        rng=random.Random(1),
    )
    rec = agent.run_task(TASK)
    assert tasks == [rec] and len(started) == len(turns)  # started = recorded, attempt by attempt
    return rec, turns, sleeps, transport


def test_a_task_runs_its_turns_and_sums_them() -> None:
    rec, turns, _, transport = run("ws", [ok(calls=2, response_id="r1"), ok(calls=1, response_id="r2"), ok()])
    assert rec.ok and rec.turns == 3 and rec.tool_calls == 3
    assert [t.turn for t in turns] == [0, 1, 2]
    assert rec.bytes_sent == 3 * transport.sent_per_call and rec.turn_bytes_sent == [1000] * 3
    first, second = transport.requests[0][0], transport.requests[1][0]
    assert "instructions" in first and first["metadata"] == {"agentload_task": TASK.name}
    assert second["previous_response_id"] == "r1" and "instructions" not in second
    assert [i["type"] for i in second["input"]] == ["function_call_output"] * 2


def test_stateless_strategies_resend_everything_every_turn() -> None:
    _, _, _, transport = run("http-stateless", [ok(calls=1), ok()])
    second = transport.requests[1][0]
    assert "previous_response_id" not in second and second["instructions"]
    assert [i["type"] for i in second["input"]] == ["message", "function_call", "function_call_output"]


def test_a_transient_failure_is_retried_with_backoff_and_counted() -> None:
    rec, turns, sleeps, _ = run("http-chained", [failed(ErrorKind.SERVER, status=503), ok()])
    assert rec.ok and rec.retries == 1
    assert [t.attempt for t in turns] == [0, 1] and [t.ok for t in turns] == [False, True]
    assert 0.375 <= sleeps[0] <= 0.5  # the SDK's first backoff, up to 25 % less
    assert turns[0].wait_ms == pytest.approx(sleeps[0] * 1000)


def test_retries_run_out_and_the_task_fails() -> None:
    script: list[Step] = [failed(ErrorKind.TIMEOUT, "first_token_timeout") for _ in range(3)]
    rec, turns, sleeps, _ = run("ws", script, max_retries=2)
    assert not rec.ok and rec.error_kind == ErrorKind.TIMEOUT and len(turns) == 3 and len(sleeps) == 2


def test_a_failure_no_retry_fixes_fails_the_task_at_once() -> None:
    rec, turns, sleeps, _ = run("ws", [failed(ErrorKind.AUTH, status=401)])
    assert not rec.ok and rec.error_kind == ErrorKind.AUTH and len(turns) == 1 and sleeps == []


def test_a_429_is_waited_out_as_the_server_asks_and_not_a_retry() -> None:
    rec, turns, sleeps, _ = run("http-stateless", [rate_limited(400), ok()])
    assert rec.ok and rec.retries == 0 and rec.rate_limited == 1
    assert 0.4 <= sleeps[0] <= 0.6  # at least retry-after-ms, up to 50 % jitter
    assert turns[0].error_kind == ErrorKind.RATE_LIMITED and turns[0].retry_after_ms == 400
    assert rec.rate_limit_wait_ms == pytest.approx(turns[0].wait_ms)


def test_on_429_fail_fails_the_task() -> None:
    rec, turns, sleeps, _ = run("http-stateless", [rate_limited()], on_429=On429.FAIL)
    assert not rec.ok and rec.error_kind == ErrorKind.RATE_LIMITED and sleeps == []


def test_max_429_retries_bounds_the_waits() -> None:
    rec, turns, sleeps, _ = run("ws", [rate_limited(10) for _ in range(4)], max_429_retries=3)
    assert not rec.ok and len(turns) == 4 and len(sleeps) == 3
    assert sleeps[1] >= 0.2 * 1.0 and sleeps[2] >= 0.4  # the honour floor doubles when refused again


def test_previous_response_not_found_resends_the_full_context_at_once() -> None:
    script: list[Step] = [
        ok(calls=1, response_id="r1"),
        failed(ErrorKind.PREVIOUS_NOT_FOUND, "previous_response_not_found"),
        ok(),
    ]
    rec, turns, sleeps, transport = run("ws-stored", script)
    assert rec.ok and rec.recoveries == 1 and sleeps == []  # no wait: resend
    retry = transport.requests[2][0]
    assert "previous_response_id" not in retry and retry["instructions"]
    assert [t.recovery for t in turns] == [False, False, True]


@pytest.mark.parametrize(("strategy", "recovers"), [("ws", True), ("ws-stored", False)])
def test_a_lost_websocket_takes_a_store_false_conversation_with_it(strategy: str, recovers: bool) -> None:
    """The connection drops mid-turn; the retry on a new connection must resend everything where the
    conversation lived only in that connection (store=false), and continues where it was stored."""
    script: list[Step] = [ok(calls=1, response_id="r1"), failed(ErrorKind.CONNECTION, "ws_close_1006"), ok()]
    transport = FakeTransport(script, websocket=True, lose_after={1})
    turns: list[TurnRecord] = []
    agent = Agent(
        AgentSettings(BY_NAME[strategy], "m", tool_latency_scale=0),
        transport,
        1,
        lambda r, _o: turns.append(r),
        lambda r: None,
        sleep=lambda s: None,
    )
    rec = agent.run_task(TASK)
    assert rec.ok and rec.retries == 1 and transport.connects == 2
    assert rec.recoveries == int(recovers) and turns[2].recovery == recovers
    assert ("previous_response_id" not in transport.requests[2][0]) == recovers


@pytest.mark.parametrize(
    ("failure", "recovers"),
    [(failed(ErrorKind.PROTOCOL, "malformed_event"), True), (failed(ErrorKind.SERVER, status=500), False)],
)
def test_a_ws_mux_lane_that_gave_up_on_its_stream_resends_everything(
    failure: TurnOutcome, recovers: bool
) -> None:
    """On ws-mux a turn that failed mid-stream keeps the shared connection (only its lane is retired),
    but the server may still finish that response, and a lane keeps only its latest in memory: the retry
    resends the whole context on the same connection. One refused with a status (no response made)
    continues from the previous response."""
    script: list[Step] = [ok(calls=1, response_id="r1"), failure, ok()]
    rec, turns, _, transport = run("ws-mux", script)
    assert rec.ok and rec.retries == 1 and transport.connects == 1
    assert [t.recovery for t in turns] == [False, False, recovers]
    retry = transport.requests[2][0]
    assert retry.get("previous_response_id") == (None if recovers else "r1")
    assert bool(retry.get("instructions")) == recovers


def test_a_turn_cut_off_by_the_run_is_recorded_with_its_bytes_and_the_connection_closed() -> None:
    def stuck() -> NoReturn:
        gevent.sleep(10)
        raise AssertionError("never reached")

    transport = FakeTransport([ok(calls=1), stuck], websocket=True)
    turns: list[TurnRecord] = []
    tasks: list[TaskRecord] = []
    agent = Agent(
        AgentSettings(BY_NAME["ws"], "m", tool_latency_scale=0),
        transport,
        1,
        lambda r, _o: turns.append(r),
        tasks.append,
    )
    g = gevent.spawn(agent.run_task, TASK)
    wait_for(lambda: len(transport.requests) == 2, 10, "the second turn's request on the wire")
    g.kill(block=True)
    assert [t.error_kind for t in turns] == [None, ErrorKind.INTERRUPTED]
    assert turns[1].bytes_sent == transport.sent_per_call  # what it had put on the wire
    assert tasks[0].error_kind == ErrorKind.INTERRUPTED and transport.closed == 1


def _reasoning_reply(custom: bool = False) -> TurnOutcome:
    out = ok(calls=1)
    reasoning: dict[str, Any] = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAA" + "x" * 90,
                 "status": None}  # fmt: skip
    if custom:
        out.calls = [FunctionCall("call_c", "apply_patch", "*** Begin Patch\n*** End Patch\n", custom=True)]
    out.output_items = [reasoning]
    return out


def test_a_store_false_agent_asks_for_its_reasoning_and_resends_it_on_stateless_turns() -> None:
    _, _, _, transport = run("http-stateless", [_reasoning_reply(), ok()])
    first, second = transport.requests[0][0], transport.requests[1][0]
    assert first["include"] == ["reasoning.encrypted_content"] and first["prompt_cache_key"].startswith(
        "agentload-"
    )
    assert second["prompt_cache_key"] == first["prompt_cache_key"]  # one key a task
    assert [i["type"] for i in second["input"]] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
    ]
    resent = second["input"][1]
    assert resent == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "encrypted_content": "gAAAAA" + "x" * 90,
    }
    # a continuation sends only the new outputs; a store=true agent asks for no encrypted reasoning
    _, _, _, ws = run("ws", [_reasoning_reply(), ok()])
    assert [i["type"] for i in ws.requests[1][0]["input"]] == ["function_call_output"]
    _, _, _, stored = run("http-chained", [_reasoning_reply(), ok()])
    assert "include" not in stored.requests[0][0]


def test_a_custom_tool_call_is_answered_with_a_custom_tool_call_output() -> None:
    _, _, _, transport = run("http-stateless", [_reasoning_reply(custom=True), ok()], reasoning_effort="low")
    second = transport.requests[1][0]
    assert second["reasoning"] == {"effort": "low"}
    kinds = [(i["type"], i.get("call_id")) for i in second["input"][2:]]
    assert kinds == [("custom_tool_call", "call_c"), ("custom_tool_call_output", "call_c")]
