"""A long session as it is (#30): the user's later messages after the model's answers, the human's pause
before each held as a pause at --time-scale, a WebSocket closed after --idle-close of it and reopened
(counted), an HTTP agent holding nothing through it."""

from __future__ import annotations

import copy
import dataclasses
import random
from typing import Any

from agentload.client import Agent, AgentSettings, TurnOutcome
from agentload.core.compaction import CompactMark, last_compaction
from agentload.core.records import TaskRecord, TurnRecord
from agentload.core.strategies import BY_NAME
from agentload.mock.engine import turns_in
from agentload.workload import load_task
from agentload.workload.task import Turn
from tests.unit.fakes import FakeTransport, Step, ok

BASE = load_task("fix-failing-test")
CALL = BASE.turns[0].calls[0]
# a call, an answer, then the user's message after a 10-minute pause, a call, and the last answer
SESSION = dataclasses.replace(
    BASE,
    name="long-session",
    turns=(
        Turn(calls=(CALL,)),
        Turn(calls=(), message="done"),
        Turn(calls=(CALL,), user_message="now the docs, please", pause_s=600.0),
        Turn(calls=()),
    ),
    max_turns=4,
)
SCRIPT: list[Step] = [ok(1, "r1"), ok(0, "r2"), ok(1, "r3"), ok(0, "r4")]


@dataclasses.dataclass
class ClosingTransport(FakeTransport):
    """A WebSocket whose close ends it: the next exchange opens another. Keeps each request as sent
    (the history it holds grows after)."""

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        return super().exchange(copy.deepcopy(body), headers)

    def close(self) -> None:
        super().close()
        self.is_open = False


def run(strategy: str, **kw: Any) -> tuple[TaskRecord, list[TurnRecord], list[float], FakeTransport]:
    transport = ClosingTransport(list(SCRIPT), websocket=BY_NAME[strategy].websocket)
    settings = AgentSettings(BY_NAME[strategy], "gpt-5.4", tool_latency_scale=0, **kw)
    turns: list[TurnRecord] = []
    sleeps: list[float] = []
    agent = Agent(settings, transport, 1, lambda r, _o: turns.append(r), lambda r: None, sleeps.append,
                  rng=random.Random(1))  # fmt: skip
    return agent.run_task(SESSION), turns, sleeps, transport


def test_the_session_goes_on_after_an_answer_with_the_users_message_after_the_scaled_pause() -> None:
    rec, turns, sleeps, transport = run("ws", time_scale=0.01)
    assert rec.ok and rec.turns == 4 and [t.turn for t in turns] == [0, 1, 2, 3]
    assert sleeps == [6.0] and rec.pauses == 1 and rec.pause_ms == 6000.0
    third = transport.requests[2][0]  # continues from the answer: only the user's message is new
    assert third["previous_response_id"] == "r2"
    assert [(i.get("role"), i.get("content")) for i in third["input"]] == [("user", "now the docs, please")]
    assert transport.closed == 0 and rec.idle_closes == 0 and rec.reconnects == 0  # held open, idle


def test_idle_close_ends_the_websocket_in_the_pause_and_the_next_turn_reconnects_counted() -> None:
    rec, turns, sleeps, transport = run("ws", time_scale=0.01, idle_close_s=60.0)
    assert sleeps == [0.6, 5.4] and transport.closed == 1 and rec.idle_closes == 1
    assert transport.connects == 2 and rec.reconnects == 1
    third = transport.requests[2][0]  # store=false: the response lived in the closed connection
    assert "previous_response_id" not in third and third["instructions"]
    assert third["input"][-1]["content"] == "now the docs, please" and turns[2].recovery


def test_idle_close_on_ws_stored_continues_from_the_store() -> None:
    rec, _, _, transport = run("ws-stored", time_scale=0.01, idle_close_s=60.0)
    assert rec.ok and rec.idle_closes == 1 and rec.reconnects == 1
    assert transport.requests[2][0]["previous_response_id"] == "r2"


def test_an_http_agent_holds_nothing_through_the_pause() -> None:
    rec, _, sleeps, transport = run("http-stateless", time_scale=0.01, idle_close_s=60.0)
    assert rec.ok and sleeps == [6.0] and transport.closed == 0 and rec.idle_closes == 0
    roles = [(i.get("type"), i.get("role")) for i in transport.requests[2][0]["input"]]
    assert roles[-3:] == [("function_call", None), ("function_call_output", None), ("message", "user")]


def test_a_pause_shorter_than_idle_close_keeps_the_connection() -> None:
    rec, _, sleeps, transport = run("ws", time_scale=0.01, idle_close_s=900.0)
    assert sleeps == [6.0] and transport.closed == 0 and rec.reconnects == 0


COMPACTED = dataclasses.replace(
    SESSION,
    turns=(*SESSION.turns[:2], dataclasses.replace(SESSION.turns[2], compacted=True), SESSION.turns[3]),
)


def run_compacted(strategy: str) -> tuple[TaskRecord, FakeTransport]:
    transport = ClosingTransport(list(SCRIPT), websocket=BY_NAME[strategy].websocket)
    settings = AgentSettings(BY_NAME[strategy], "gpt-5.4", tool_latency_scale=0, time_scale=0.01)
    agent = Agent(settings, transport, 1, lambda r, _o: None, lambda r: None, lambda s: None)
    return agent.run_task(COMPACTED), transport


def test_a_compacted_turn_starts_a_new_chain_with_the_whole_compacted_context_on_websocket() -> None:
    rec, transport = run_compacted("ws")
    assert rec.ok and rec.turns == 4 and rec.compactions == 1
    third, fourth = transport.requests[2][0], transport.requests[3][0]
    assert "previous_response_id" not in third and third["instructions"]  # a new chain
    roles = [(i.get("type"), i.get("role")) for i in third["input"]]
    assert roles == [("message", "user")] * 3  # the prompt, the summary, the user's new message
    assert last_compaction(third["input"]) == (CompactMark(2), 1)
    assert (
        third["input"][0]["content"] == BASE.prompt and third["input"][2]["content"] == "now the docs, please"
    )
    assert fourth["previous_response_id"] == "r3"  # and the chain goes on from it
    assert transport.connects == 1 and rec.recoveries == 0  # the same connection, not a recovery


def test_a_compacted_context_is_what_a_stateless_agent_resends_from_then_on() -> None:
    _, transport = run_compacted("http-stateless")
    before, compacted, after = (transport.requests[i][0] for i in (1, 2, 3))
    assert [i.get("type") for i in before["input"]][1:] == ["function_call", "function_call_output"]
    assert len(compacted["input"]) == 3 and "function_call" not in [i.get("type") for i in compacted["input"]]
    assert [i.get("type") for i in after["input"]][3:] == ["function_call", "function_call_output"]


def test_the_mock_counts_a_compacted_inputs_turns_from_its_marker() -> None:
    items: list[dict[str, Any]] = [
        {"role": "user", "content": "prompt"},
        {"role": "user", "content": CompactMark(12).on("summary")},
        {"type": "function_call", "call_id": "c", "name": "x", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "o"},
    ]
    assert turns_in(items) == 13 and turns_in(items[:2]) == 12 and turns_in(items[:1]) == 0
