"""A turn that the run's end cuts off (Locust kills the user mid-turn): it is recorded as interrupted
with every byte it had put on the wire, as the mock counted them; the connection then ends cleanly,
and the WebSocket close frame is counted apart from the turn, as the mock counts it apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import pytest

from agentload.client import Agent, AgentSettings, Timeouts, TransportConfig, api_base, make_transport
from agentload.core.records import TurnRecord
from agentload.core.strategies import BY_NAME
from agentload.mock import MockProcess
from agentload.workload import load_task
from tests.servers import wait_for

MOCK = ("--ttft-ms", "3000", "--prefill-ms-per-1k", "0", "--cached-ms-per-1k", "0")


@pytest.mark.parametrize("strategy", ["ws", "http-stateless"])
def test_a_cut_turn_keeps_its_bytes_and_the_close_is_apart(
    start_mock: Callable[..., MockProcess], strategy: str
) -> None:
    mock = start_mock(*MOCK)
    settings = AgentSettings(strategy=BY_NAME[strategy], model="m", tool_latency_scale=0)
    timeouts = Timeouts(connect_s=5, first_token_s=10, idle_s=10)
    transport = make_transport(
        settings.strategy, api_base(mock.url), {"Authorization": "Bearer sk-x"}, TransportConfig(timeouts)
    )
    turns: list[TurnRecord] = []
    agent = Agent(settings, transport, 0, lambda rec, _out: turns.append(rec), lambda _task: None)
    worker = gevent.spawn(agent.run_task, load_task("fix-failing-test"))

    def request_taken_up() -> list[dict[str, Any]]:
        stats = mock.stats()["exchanges"]
        return [e for e in stats if e["path"] == "/v1/responses" and e["response_id"]]

    # connected, the request is out and the mock has taken it up: the model is "thinking" (3 s)
    requests = wait_for(request_taken_up, 10, "the mock to take up the task's first request")
    assert len(requests) == 1 and not turns
    worker.kill(block=True, timeout=5)
    assert worker.dead

    assert len(turns) == 1
    turn = turns[0]
    assert turn.error_kind == "interrupted"
    stats = mock.stats()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for e in stats["exchanges"]:
        by_kind.setdefault(e["kind"], []).append(e)
    request = next(e for e in stats["exchanges"] if e["response_id"] == requests[0]["response_id"])
    handshake = sum(e["received"] for e in by_kind.get("ws-handshake", []))
    assert turn.bytes_sent == request["received"] + handshake > 1_000  # the task's first request
    assert turn.connect_bytes_sent == handshake
    closes = by_kind.get("ws-close", [])
    if strategy == "ws":
        assert len(closes) == 1 and closes[0]["received"] > 0  # the close frame: not the turn's
    # every byte the mock received is the turn's or the close's
    assert stats["totals"]["received"] == turn.bytes_sent + sum(e["received"] for e in closes)
