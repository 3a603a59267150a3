"""In-process fakes for the unit layer: a transport that replays scripted outcomes (httpx's MockTransport
idea), so the agent's retry, 429, recovery and interrupt paths run in microseconds, without a socket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentload.client import AgentSettings, Conversation, TurnOutcome
from agentload.client.bodies import chat_body, responses_body
from agentload.client.stream import FunctionCall, error_from_body
from agentload.client.transports import Request
from agentload.client.wire.counting import WireCounter
from agentload.core.records import ErrorKind


def ok(calls: int = 0, response_id: str = "resp_1", usage: dict[str, Any] | None = None) -> TurnOutcome:
    out = TurnOutcome(t_start=0.0)
    out.t_first_token, out.t_end = 0.010, 0.020
    out.response_id = response_id
    out.calls = [FunctionCall(f"call_{i}", "read_file", '{"path":"a.py"}') for i in range(calls)]
    out.usage = usage or {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10,
    }
    out.done = out.ok = True
    out.events = 5
    return out


def failed(kind: ErrorKind, code: str | None = None, status: int | None = None) -> TurnOutcome:
    out = TurnOutcome(t_start=0.0)
    out.fail(kind, f"scripted {kind}", code, status)
    return out


def rate_limited(retry_after_ms: float = 250.0, limit_type: str = "requests") -> TurnOutcome:
    out = TurnOutcome(t_start=0.0)
    body = (
        b'{"error":{"message":"Rate limit reached","type":"%s","code":"rate_limit_exceeded"}}'
        % limit_type.encode()
    )
    error_from_body(out, 429, body)
    out.headers = {"retry-after-ms": str(retry_after_ms)}
    return out


Step = TurnOutcome | Callable[[], TurnOutcome] | BaseException


@dataclass
class FakeTransport:
    """Replays ``script`` one exchange at a time; each exchange "sends" ``sent_per_call`` bytes."""

    script: list[Step]
    websocket: bool = False
    sent_per_call: int = 1000
    received_per_call: int = 3000
    counter: WireCounter = field(default_factory=WireCounter)
    requests: list[tuple[dict[str, Any], dict[str, str] | None]] = field(default_factory=list)
    connects: int = 1
    handshake_bytes: tuple[int, int] = (0, 0)
    is_open: bool = True
    closed: int = 0
    resets: int = 0
    lose_after: set[int] = field(default_factory=set)  # exchange numbers after which the connection is lost

    @property
    def session(self) -> int:
        return self.connects if self.is_open else -1

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Request:
        if settings.strategy.api == "chat":
            return chat_body(conv, settings)
        return responses_body(conv, settings, full), None

    def build_warmup(self, conv: Conversation, settings: AgentSettings) -> Request | None:
        if not (self.websocket and conv.profile.ws_warmup and conv.warmup_count):
            return None
        return {**responses_body(conv, settings, True, warmup=True), "generate": False}, None

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        index = len(self.requests)
        self.requests.append((body, headers))
        if not self.is_open:  # a lost connection: this exchange opens a new one
            self.connects += 1
            self.is_open = True
        self.counter.sent += self.sent_per_call
        self.counter.received += self.received_per_call
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        out = step() if callable(step) else step
        if index in self.lose_after:
            self.is_open = False
        return out

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed += 1
