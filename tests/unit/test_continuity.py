"""The in-band marker and the mock's context continuity (core.marker, mock.continuity), in process: a
conversation's turns as a gateway may send them on, and what the mock makes of them; the gateway
verdict's arithmetic (gateway.verdict)."""

from __future__ import annotations

from typing import Any

import pytest

from agentload.core.marker import Mark, find_mark, strip_mark
from agentload.core.strategies import NAMES
from agentload.gateway.verdict import Row, rows
from agentload.mock.config import MockConfig
from agentload.mock.engine import Engine, Generation
from agentload.mock.errors import ApiError
from agentload.mock.requests import parse_chat, parse_create
from agentload.workload import load_task

TASK = load_task("fix-failing-test")


def test_a_mark_survives_any_task_name_and_the_last_one_counts() -> None:
    mark = Mark("my task [v2]", "agentload-0123", "ws")
    text = mark.on("You are a coding agent.")
    assert text.startswith("You are a coding agent.\n\n") and find_mark(text) == mark
    older = Mark("old", "agentload-9", "chat").on("x")
    assert find_mark(mark.on(older)) == mark  # a replayed recording of marked traffic: the new one
    assert strip_mark(text) == "You are a coding agent." and find_mark("no marker here") is None


def _turn(engine: Engine, body: dict[str, Any], prev: Generation | None = None) -> Generation:
    req = parse_create(body, websocket=False)
    prev_state = engine.finish(prev) if prev is not None else None
    return engine.start(req, prev_state if req.previous_response_id else None, body_bytes=100)


def _outputs(gen: Generation) -> list[dict[str, Any]]:
    return [{"type": "function_call_output", "call_id": c.call_id, "output": "ok"} for c in gen.plan.calls]


def _calls(gen: Generation) -> list[dict[str, Any]]:
    return [
        {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
        for c in gen.plan.calls
    ]


def _first(conversation: str, strategy: str) -> dict[str, Any]:
    return {
        "model": "gpt-5.4",
        "instructions": Mark(TASK.name, conversation, strategy).on(TASK.instructions),
        "tools": list(TASK.tools),
        "input": [{"type": "message", "role": "user", "content": TASK.prompt}],
        "store": True,
    }


def test_chained_turns_keep_context_and_a_continuation_without_it_is_counted_lost() -> None:
    engine = Engine(MockConfig())
    a1 = _turn(engine, _first("agentload-a", "http-chained"))
    a2 = _turn(
        engine, {"model": "gpt-5.4", "previous_response_id": a1.id, "input": _outputs(a1), "store": True}, a1
    )
    # another conversation of the same task: its call ids are its own (its marker is in its seed)
    b1 = _turn(engine, _first("agentload-b", "ws"))
    assert {c.call_id for c in b1.plan.calls}.isdisjoint(c.call_id for c in a1.plan.calls)
    # b's second turn as a gateway sent it on: its new items alone, no previous_response_id, no
    # instructions or tools; found by the calls it answers, it plays on at b's own turn
    b2 = _turn(engine, {"model": "gpt-5.4", "input": _outputs(b1), "store": True})
    assert [c.name for c in b2.plan.calls] == [c.name for c in a2.plan.calls]
    seen = engine.continuity.snapshot()["strategies"]
    assert seen["http-chained"]["turns"] == 2 and seen["http-chained"]["lost"] == 0
    assert seen["ws"]["turns"] == 2 and seen["ws"]["lost"] == 1
    assert "lost the system prompt, the user's prompt, the tools" in seen["ws"]["first_loss"]
    assert "earlier calls" in seen["ws"]["first_loss"]


def test_a_stateless_resend_keeps_context_and_one_that_drops_a_turn_does_not() -> None:
    engine = Engine(MockConfig())
    first = _first("agentload-s", "http-stateless")
    t1 = _turn(engine, first)
    history = [*first["input"], *_calls(t1), *_outputs(t1)]
    t2 = _turn(engine, {**first, "input": history})
    assert engine.continuity.snapshot()["strategies"]["http-stateless"]["lost"] == 0
    # the third turn without the first turn's call (a gateway trimming history)
    trimmed = [*first["input"], *_outputs(t1)[:0], *_calls(t2), *_outputs(t2)]
    _turn(engine, {**first, "input": trimmed})
    seen = engine.continuity.snapshot()["strategies"]["http-stateless"]
    assert seen["turns"] == 3 and seen["lost"] == 1 and "earlier calls" in seen["first_loss"]


def test_chat_turns_are_followed_by_their_system_message() -> None:
    engine = Engine(MockConfig())
    system = {"role": "system", "content": Mark(TASK.name, "agentload-c", "chat").on(TASK.instructions)}
    messages: list[dict[str, Any]] = [system, {"role": "user", "content": TASK.prompt}]
    tools = [
        {"type": "function", "function": {"name": t["name"], "parameters": t["parameters"]}}
        for t in TASK.function_tools
    ]
    gen = engine.start_chat(parse_chat({"model": "gpt-5.4", "messages": messages, "tools": tools}))
    assert gen.state.task == TASK.name  # named in-band: no header
    calls = [
        {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in gen.plan.calls
    ]
    messages += [{"role": "assistant", "content": None, "tool_calls": calls}]
    messages += [{"role": "tool", "tool_call_id": c.call_id, "content": "ok"} for c in gen.plan.calls]
    engine.start_chat(parse_chat({"model": "gpt-5.4", "messages": messages, "tools": tools}))
    seen = engine.continuity.snapshot()["strategies"]["chat"]
    assert seen["turns"] == 2 and seen["lost"] == 0


def _row(**kw: Any) -> Row:
    base = dict(strategy="ws", tasks=1, turns_ok=10, turns_failed=0, upstream_turns=10, upstream_errors=0, lost=0, first_loss="",
                sent_bytes=1000, upstream_bytes=4000, ttft_ms=150.0, upstream_ttft_ms=100.0)  # fmt: skip
    return Row(**{**base, **kw})


def test_the_verdicts_arithmetic() -> None:
    ok = _row()
    assert ok.failure is None and ok.amplification == 4.0 and ok.added_ttft_ms == 50.0
    assert _row(turns_ok=8, turns_failed=2).made_up == 2  # the mock refused none of them
    assert _row(turns_ok=8, turns_failed=2, upstream_errors=2).made_up == 0  # the mock's own, passed on
    assert _row(upstream_errors=3).swallowed == 3  # the mock refused 3, the agents saw none fail
    assert _row(turns_ok=12, upstream_turns=10).swallowed == 2  # answered by the gateway itself
    assert "3 of 10 turns" in (_row(lost=3, first_loss="turn 2").failure or "")
    assert "none of 10 turns" in (_row(upstream_turns=0).failure or "")
    refused = _row(turns_ok=0, turns_failed=4, upstream_turns=0, error="not_found, HTTP 404")
    assert refused.not_served and refused.failure is None
    assert _row(turns_ok=0, turns_failed=4, upstream_turns=0, error="server_error, HTTP 500").failure


def test_rows_cover_the_strategies_the_agents_ran_in_registry_order() -> None:
    records = [
        {"kind": "turn", "strategy": s, "ok": True, "ttft_ms": 10.0, "payload_bytes_sent": 100} for s in NAMES
    ]
    upstream = {"strategies": {s: {"turns": 1, "body_bytes": 100, "ttft_ms_mean": 5.0} for s in NAMES}}
    table = rows(reversed(records), upstream)
    assert [r.strategy for r in table] == list(NAMES) and all(r.failure is None for r in table)


def test_a_turn_the_mock_refuses_is_counted_as_its_error() -> None:
    engine = Engine(MockConfig())
    body = {
        **_first("agentload-e", "chat"),
        "instructions": Mark("no-such-task", "agentload-e", "chat").on("x"),
    }
    with pytest.raises(ApiError):
        _turn(engine, body)
    seen = engine.continuity.snapshot()["strategies"]["chat"]
    assert seen["errors"] == 1 and seen["turns"] == 0
