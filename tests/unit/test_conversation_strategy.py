"""The http-conversation strategy in the agent loop, on a scripted transport: the task's Conversation is
made first (not a turn: its bytes are the first turn's), every turn names it, and each turn after the
first sends only its new items (no previous_response_id, nothing the conversation holds)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from agentload.client import Agent, AgentSettings, TurnOutcome
from agentload.client.transports import ConversationOpener
from agentload.core.records import ErrorKind, TaskRecord, TurnRecord
from agentload.core.strategies import BY_NAME
from agentload.workload import load_task
from tests.unit.fakes import FakeTransport, failed, ok

TASK = load_task("fix-failing-test")
STRATEGY = BY_NAME["http-conversation"]


@dataclass
class ConversationTransport(FakeTransport):
    """The fake, able to make conversations (each creation "sends" 200 bytes and gets 150)."""

    made: list[dict[str, str]] = field(default_factory=list)
    creations: list[TurnOutcome] = field(default_factory=list)  # scripted; empty: each one succeeds

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        return super().exchange(copy.deepcopy(body), headers)  # as sent (the history grows after)

    def open_conversation(self, metadata: dict[str, str]) -> TurnOutcome:
        self.made.append(metadata)
        self.counter.sent += 200
        self.counter.received += 150
        if self.creations:
            return self.creations.pop(0)
        out = ok(response_id=f"conv_{len(self.made)}")
        return out


def run(transport: ConversationTransport) -> tuple[TaskRecord, list[TurnRecord]]:
    turns: list[TurnRecord] = []
    agent = Agent(
        AgentSettings(strategy=STRATEGY, model="gpt-5.4"),
        transport,
        1,
        on_turn=lambda rec, _: turns.append(rec),
        on_task=lambda rec: None,
        sleep=lambda s: None,
    )
    return agent.run_task(TASK), turns


def test_the_strategy_is_in_the_registry_as_a_continuation() -> None:
    assert STRATEGY.conversation and STRATEGY.continues and not STRATEGY.chained and STRATEGY.store
    assert STRATEGY.user_class == "HttpConversationAgent" and not STRATEGY.websocket
    assert isinstance(ConversationTransport([]), ConversationOpener)
    assert not isinstance(FakeTransport([]), ConversationOpener)


def test_each_turn_names_the_conversation_and_sends_only_its_new_items() -> None:
    transport = ConversationTransport(
        [ok(calls=2, response_id="resp_1"), ok(calls=1, response_id="resp_2"), ok()]
    )
    rec, turns = run(transport)
    assert rec.ok and rec.turns == 3 and len(turns) == 3  # the creation is no turn of its own
    assert transport.made == [{"agentload_task": TASK.name}]
    (first, _), (second, _), (third, _) = transport.requests
    assert {b["conversation"] for b in (first, second, third)} == {"conv_1"}
    assert all("previous_response_id" not in b for b in (first, second, third))
    assert first["store"] is True and first["tools"] and first["input"][-1]["role"] == "user"
    assert [i["type"] for i in second["input"]] == ["function_call_output"] * 2
    assert [i["call_id"] for i in third["input"]] == ["call_0"] and "tools" not in third
    # the creation's bytes are the first turn's, as a warm-up's are; its time is outside the turn's TTFT
    assert [t.bytes_sent for t in turns] == [1200, 1000, 1000] and rec.bytes_sent == 3200
    assert turns[0].ttft_ms == turns[1].ttft_ms


def test_a_failed_creation_is_the_first_attempt_and_is_retried() -> None:
    transport = ConversationTransport([ok()], creations=[failed(ErrorKind.SERVER, status=503)])
    rec, turns = run(transport)
    assert rec.ok and rec.retries == 1 and [t.ok for t in turns] == [False, True]
    assert turns[0].http_status == 503 and len(transport.made) == 2
    assert transport.requests[0][0]["conversation"] == "conv_2"


def test_a_lost_conversation_fails_the_task() -> None:
    gone = failed(ErrorKind.NOT_FOUND, status=404)
    transport = ConversationTransport([ok(calls=1), gone])
    rec, turns = run(transport)
    assert not rec.ok and rec.error_kind == ErrorKind.NOT_FOUND and len(turns) == 2
    assert len(transport.made) == 1  # no new conversation midway: the history was the server's


def test_a_turn_cut_off_mid_stream_goes_on_in_a_new_conversation() -> None:
    """The server may have finished the response and joined it to the conversation before the stream
    broke: the retry makes a new conversation and sends the whole history in it (a recovery)."""
    cut = failed(ErrorKind.CONNECTION, "connection_lost")
    transport = ConversationTransport([ok(calls=2), cut, ok()])
    rec, turns = run(transport)
    assert rec.ok and rec.recoveries == 1 and [t.recovery for t in turns] == [False, False, True]
    assert len(transport.made) == 2
    first, lost, again = (body for body, _ in transport.requests)
    assert lost["conversation"] == "conv_1" and again["conversation"] == "conv_2"
    assert [i["type"] for i in lost["input"]] == ["function_call_output"] * 2
    assert again["tools"] and again["input"][: len(first["input"])] == first["input"]
    assert [i["type"] for i in again["input"][-2:]] == ["function_call_output"] * 2


def test_an_error_status_is_retried_in_the_same_conversation() -> None:
    transport = ConversationTransport([ok(calls=1), failed(ErrorKind.SERVER, status=503), ok()])
    rec, _ = run(transport)
    assert rec.ok and rec.recoveries == 0 and len(transport.made) == 1
    assert [b["conversation"] for b, _ in transport.requests] == ["conv_1"] * 3
