"""Fault injection: the mock misbehaves on purpose, the way real endpoints do under load.

Each fault has a rate: a probability per response (``drop=0.02``) or a schedule (``drop=every:50``,
the 50th, 100th, ... response). At most one failing fault is drawn per response (so the rates add up
to the share of responses that fail); ``unknown_event`` is drawn on its own because it must not fail
anything. Every fault injected is counted by name in ``/_agentload/stats`` (``faults``), so a run can
check that each one it met was classified on the client side.

Off by default: with no ``--faults`` the mock never misbehaves and the official SDK parses every event.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

# name -> (what it does, which transports it applies to)
FAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "drop": ("the connection is cut mid-stream without a word (WebSocket clients see 1006)", ("http", "ws")),
    "http_500": (
        "500 with OpenAI's server_error body (WebSocket: an error event, status 500)",
        ("http", "ws"),
    ),
    "http_502": ("502 with an OpenAI error body (WebSocket: an error event, status 502)", ("http", "ws")),
    "http_503": ("503 'overloaded' with an OpenAI error body (WebSocket: an error event)", ("http", "ws")),
    "slow_first_byte": ("the response (head and first event) waits --fault-slow-s first", ("http", "ws")),
    "stall": ("the stream stops mid-way for --fault-stall-s, then goes on", ("http", "ws")),
    "malformed": ("one event's JSON is cut short; the stream goes on", ("http", "ws")),
    "truncated": (
        "the stream ends mid-way without its terminal event (HTTP: the body ends; WebSocket: close 1000)",
        ("http", "ws"),
    ),
    "close_1011": ("WebSocket: a close frame 1011 (internal error) mid-stream", ("ws",)),
    "connection_limit": (
        "WebSocket: websocket_connection_limit_reached instead of the response, then close",
        ("ws",),
    ),
    "unknown_event": (
        "an event of a type no client knows, mid-stream (clients must ignore it)",
        ("http", "ws"),
    ),
}
NOT_FAILING = ("unknown_event", "slow_first_byte")  # a client that is right succeeds through these
STATUS_FAULTS = {"http_500": 500, "http_502": 502, "http_503": 503}
CUT_FAULTS = ("drop", "truncated", "close_1011")  # the stream ends at the cut
UNKNOWN_EVENT_TYPE = "response.agentload_unknown_event"
CUT = "_agentload.cut"  # marker events: never sent as such
MALFORMED = "_agentload.malformed"


class FaultSpecError(ValueError):
    """A --faults value that does not parse; the message names the part and the fix."""


@dataclass(frozen=True)
class Rate:
    probability: float = 0.0
    every: int = 0  # a schedule: every n-th response (0 = none)

    @classmethod
    def parse(cls, name: str, text: str) -> Rate:
        text = text.strip()
        if text.startswith("every:"):
            n = text[6:]
            if not n.isdigit() or int(n) < 1:
                raise FaultSpecError(f"{name}={text}: 'every:N' needs a whole N of 1 or more (e.g. every:50)")
            return cls(every=int(n))
        try:
            p = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
        except ValueError:
            raise FaultSpecError(
                f"{name}={text}: give a probability (0.02 or 2%) or a schedule (every:50)"
            ) from None
        if not 0.0 <= p <= 1.0:
            raise FaultSpecError(f"{name}={text}: a probability is between 0 and 1 (or 0% and 100%)")
        return cls(probability=p)


def parse_faults(spec: str) -> dict[str, Rate]:
    """``drop=0.02,http_500=1%,stall=every:40`` (``all=0.01`` sets every fault) -> rates by name."""
    rates: dict[str, Rate] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise FaultSpecError(f"{part!r}: write name=rate, e.g. drop=0.02")
        if name == "all":
            rate = Rate.parse(name, value)
            rates.update(dict.fromkeys(FAULTS, rate))
            continue
        if name not in FAULTS:
            raise FaultSpecError(f"unknown fault {name!r} (known: {', '.join(FAULTS)}, or all)")
        rates[name] = Rate.parse(name, value)
    failing = sum(r.probability for n, r in rates.items() if n != "unknown_event")
    if failing > 1.0 + 1e-9:
        raise FaultSpecError(
            f"the failing faults' rates add up to {failing:.0%}: at most one fault is drawn per response, so "
            "they can add up to 100 % at most (lower them, or use all=RATE with RATE at most "
            f"{1 / (len(FAULTS) - 1):.3f})"
        )
    return rates


@dataclass(frozen=True)
class FaultConfig:
    rates: dict[str, Rate] = field(default_factory=dict)
    slow_s: float = 5.0
    stall_s: float = 10.0
    seed: int | None = None

    @property
    def enabled(self) -> bool:
        return any(r.probability > 0 or r.every > 0 for r in self.rates.values())


@dataclass
class Fault:
    """The fault one response gets: its name and where in the stream it strikes."""

    name: str
    position: float  # 0..1: the share of the stream's events that go out before it strikes

    def error(self) -> ApiError:
        status = STATUS_FAULTS[self.name]
        message = {
            500: "The server had an error while processing your request. Sorry about that!",
            502: "Bad gateway.",
            503: "The server is overloaded or not ready yet.",
        }[status]
        return ApiError(status, message, "server_error", None, None)

    def apply(
        self,
        events: Iterator[tuple[float, dict[str, Any]]],
        stall_s: float,
        is_output: Callable[[dict[str, Any]], bool] = lambda _e: False,
    ) -> Iterator[tuple[float, dict[str, Any]]]:
        """The response's events with this fault worked in (markers for what only the sender can do).
        A stall strikes once output flows (after the first event ``is_output`` says carries output): a
        wait before the first token is slow_first_byte's."""
        items = list(events)
        k = min(len(items) - 1, max(1, int(self.position * len(items))))
        name = self.name
        if name == "stall":
            first = next((i for i, (_, e) in enumerate(items) if is_output(e)), None)
            if first is not None:
                k = min(len(items) - 1, max(k, first + 1))
        for i, (t, e) in enumerate(items):
            if i == k:
                if name in CUT_FAULTS:
                    yield t, {"type": CUT, "fault": name}
                    return
                if name == "malformed":
                    yield t, {"type": MALFORMED, "event": e}
                    continue
                if name == "unknown_event":
                    yield t, {"type": UNKNOWN_EVENT_TYPE, "note": "clients must ignore unknown event types"}
            if name == "stall" and i >= k:
                t += stall_s
            yield t, e


class FaultInjector:
    """Draws faults per response and counts them. One per mock process (no shared state)."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.responses = {"responses": 0, "chat": 0, "ws": 0}  # per endpoint: schedules count each
        self.injected: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._failing = [(n, r) for n, r in config.rates.items() if n != "unknown_event"]
        self._unknown = config.rates.get("unknown_event")

    def draw(self, endpoint: str) -> list[Fault]:
        """The faults for the next response of ``endpoint`` ("responses" or "chat" over HTTP, "ws"):
        zero, one failing fault, and maybe an unknown event as well."""
        self.responses[endpoint] += 1
        n = self.responses[endpoint]
        transport = "ws" if endpoint == "ws" else "http"
        out: list[Fault] = []
        u = self.rng.random()
        acc = 0.0
        for name, rate in self._failing:
            if transport not in FAULTS[name][1]:
                continue
            hit = rate.every > 0 and n % rate.every == 0
            if not hit and rate.probability > 0:
                acc += rate.probability
                hit = u < acc
            if hit:
                out.append(Fault(name, self.rng.uniform(0.2, 0.8)))
                break
        r = self._unknown
        if r is not None and ((r.every and n % r.every == 0) or self.rng.random() < r.probability):
            out.append(Fault("unknown_event", self.rng.uniform(0.1, 0.9)))
        for f in out:
            self.injected[f.name] += 1
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"responses": dict(self.responses), "injected": dict(self.injected)}


def first_of(faults: list[Fault], names: tuple[str, ...] | dict[str, Any]) -> Fault | None:
    return next((f for f in faults if f.name in names), None)


def with_faults(
    events: Iterator[tuple[float, dict[str, Any]]],
    faults: list[Fault],
    config: FaultConfig,
    is_output: Callable[[dict[str, Any]], bool] = lambda _e: False,
) -> Iterator[tuple[float, dict[str, Any]]]:
    """The events with every drawn fault worked in; ``slow_first_byte`` delays them all."""
    for f in faults:
        if f.name == "slow_first_byte":
            events = ((t + config.slow_s, e) for t, e in events)
        elif f.name in CUT_FAULTS or f.name in ("malformed", "unknown_event", "stall"):
            events = f.apply(events, config.stall_s, is_output)
    return events
