"""What the time model predicts for a task, without a network or a clock: the calibration's engine.

A task is played once per strategy and model by the real agent loop (client.Agent, its request
bodies, its continuation logic) against the mock's real engine (mock.engine: the scripted model, the
prompt cache, the stored responses, a WebSocket connection's memory), in this process, with no
latency: each exchange is kept as what it was (bytes each way, the server's work in the units the
server-cost model prices, the latency model's events with their times and sizes). The time a task
takes on a link, with a server profile, is then computed from those exchanges by the same functions
the live run uses (core.link.LinkSpec's expected times, mock.config.ServerCost.request_s):

    exchange = (a new connection's round trips and admission) + the request's round trip, its
               bytes at the uplink rate and slow start's stalls (core.slowstart: its connection's
               window, restarted after the idle time the exchange before left) + the server's work
               + the reply's events, each at its time, through the downlink
    task     = its exchanges + its tools' time

Jitter and loss are left out (their means are not what the calibration fits), and so is everything
a real run adds on top (its machine's scheduling, the mock's own CPU): a live run measures those, and
docs/time-model.md sets the two side by side.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..client import Agent, AgentSettings, Timeouts, TransportConfig, TurnOutcome, make_transport
from ..client.conversation import Conversation
from ..client.stream import ChatConsumer, ResponsesConsumer
from ..client.wire.counting import WireCounter
from ..core.jsoncodec import dumps_ascii, dumps_utf8
from ..core.link import LinkSpec
from ..core.protocol import TASK_HEADER
from ..core.strategies import BY_NAME, Api
from ..core.websocket import frame_size
from ..mock.config import LatencyModel, MockConfig, RequestWork, ServerCost
from ..mock.engine import Engine, ResponseState
from ..workload import load_task

HTTP_REQUEST_HEAD = 260  # bytes of a POST's request line and headers (as the agents send them)
HTTP_REPLY_HEAD = 420  # an SSE reply's status line and headers (rate-limit headers included)
WS_UPGRADE = (420, 330)  # the upgrade's request and answer
CHUNK_OVERHEAD = 8  # chunked transfer encoding per write


@dataclass(frozen=True)
class Exchange:
    """One request and its reply, as played: what the time model needs of it."""

    sent: int  # bytes on the wire
    received: int
    work: RequestWork  # what the server did before its model started
    events: tuple[tuple[float, int, bool], ...]  # (seconds after the model started, bytes, a token?)
    opened: bool = False  # this exchange opened a WebSocket connection first (upgrade, admission)

    def times(
        self, link: LinkSpec | None, cost: ServerCost, cwnd: int | None = None, idle_s: float = math.inf
    ) -> tuple[float, float, int | None, float]:
        """(time to first token, duration, the connection's window after, when the request had
        arrived) of this exchange on ``link`` with ``cost``, its connection's window ``cwnd`` (None: a
        new connection's) idle for ``idle_s`` before it."""
        if link is None:
            t = cost.request_s(self.work)
            if self.opened:  # the connection's admission
                t += cost.request_s(RequestWork(new_request=True))
            first, end = self._downlink(link)
            return t + first, t + end, None, 0.0
        t = 0.0
        if self.opened:  # TCP connect and the upgrade's exchange; the connection's admission
            upgrade, cwnd = link.request(WS_UPGRADE[0])
            t += upgrade + link.handshake_s(1) + link.reply_s(WS_UPGRADE[1])
            t += cost.request_s(RequestWork(new_request=True))
            idle_s = 0.0  # (the request follows the upgrade's answer at once)
        request, cwnd = link.request(self.sent, link.start_window(cwnd, idle_s))
        t += request
        arrived = t
        t += cost.request_s(self.work)
        first, end = self._downlink(link)
        return t + first, t + end, cwnd, arrived

    def _downlink(self, link: LinkSpec | None) -> tuple[float, float]:
        return _through(self.events, link.effective().down_kbps if link is not None else 0.0)


@functools.lru_cache(maxsize=100_000)
def _through(events: tuple[tuple[float, int, bool], ...], down_kbps: float) -> tuple[float, float]:
    """When the first token and the last byte have come through a downlink of ``down_kbps`` (0: no
    limit): each event's bytes cross after the ones before them, not before they were written."""
    rate = down_kbps * 1000 / 8
    arrived, first = 0.0, None
    for at, size, token in events:
        arrived = max(at, arrived) + (size / rate if rate else 0.0)
        if token and first is None:
            first = arrived
    return (first if first is not None else arrived), arrived


@dataclass(frozen=True)
class Played:
    """One task as played by one strategy: its turns' exchanges and its tools' time."""

    task: str
    strategy: str
    model: str
    turns: tuple[tuple[Exchange, ...], ...]
    tool_s: float

    def timed(self, link: LinkSpec | None, cost: ServerCost) -> list[list[tuple[float, float]]]:
        """Each turn's exchanges as (time to first token, duration), in order: a connection's window
        goes from one to the next, and so does its idleness (the server's work and the reply after
        the request arrived; the tools' time would add to it, and is left out: a lower bound)."""
        out: list[list[tuple[float, float]]] = []
        cwnd: int | None = None
        idle = math.inf
        for turn in self.turns:
            row: list[tuple[float, float]] = []
            for x in turn:
                first, end, cwnd, arrived = x.times(link, cost, None if x.opened else cwnd, idle)
                idle = end - arrived
                row.append((first, end))
            out.append(row)
        return out

    def time_s(self, link: LinkSpec | None, cost: ServerCost) -> float:
        return self.tool_s + sum(end for turn in self.timed(link, cost) for _, end in turn)

    def ttft_ms(self, link: LinkSpec | None, cost: ServerCost) -> float:
        """The mean first-token time of its turns (the last exchange of each: its request proper)."""
        ttfts = [turn[-1][0] + sum(end for _, end in turn[:-1]) for turn in self.timed(link, cost)]
        return 1000.0 * sum(ttfts) / len(ttfts)

    def work(self, name: str) -> float:
        """A task's total of one work unit (what each server-cost parameter multiplies)."""
        total = 0.0
        for turn in self.turns:
            for x in turn:
                if x.opened and name == "new_request":
                    total += 1
                total += float(getattr(x.work, name))
        return total


class SimTransport:
    """The Transport protocol in process: requests go to an Engine, replies come back as events."""

    def __init__(self, strategy_name: str, engine: Engine) -> None:
        self.strategy = BY_NAME[strategy_name]
        self.engine = engine
        # the real transport of the strategy, for its request bodies (it opens nothing until used)
        self.shape = make_transport(
            self.strategy, "http://127.0.0.1:9/v1", {}, TransportConfig(Timeouts(10.0, 60.0, 60.0))
        )
        self.counter = WireCounter()
        self.connects = 0
        self.handshake_bytes = (0, 0)
        self._open = False
        self._memory: ResponseState | None = None  # the WebSocket connection's last response
        self.log: list[Exchange] = []

    @property
    def session(self) -> int:
        return self.connects if self.strategy.websocket else 0

    @property
    def is_open(self) -> bool:
        return self._open

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Any:
        return self.shape.build(conv, settings, full)

    def build_warmup(self, conv: Conversation, settings: AgentSettings) -> Any:
        return self.shape.build_warmup(conv, settings)

    def reset(self) -> None:
        self._open, self._memory = False, None

    def close(self) -> None:
        self.reset()

    def open_conversation(self, metadata: dict[str, str]) -> TurnOutcome:
        """A Conversation made in the engine (http-conversation's, at a task's start): a small JSON
        exchange, a new request's work, no stream. (Its time falls in the first turn's modelled TTFT
        as a warm-up's does; a live run keeps it outside.)"""
        raw = dumps_utf8({"metadata": metadata})
        conv = self.engine.conversations.create(metadata, [])
        reply = dumps_ascii(conv.resource())
        sent, received = HTTP_REQUEST_HEAD + len(raw), HTTP_REPLY_HEAD + len(reply)
        self.counter.sent += sent
        self.counter.received += received
        self.counter.payload_sent += len(raw)
        work = RequestWork(new_request=True, body_bytes=len(raw))
        self.log.append(Exchange(sent, received, work, ((0.0, len(reply), False),)))
        out = TurnOutcome(t_start=0.0)
        out.response_id, out.ok, out.done, out.t_end = conv.id, True, True, 0.0
        return out

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        ws = self.strategy.websocket
        opened = ws and not self._open
        if opened:
            self.connects += 1
            self._open, self._memory = True, None
        raw = dumps_utf8(body)
        out = TurnOutcome(t_start=0.0)
        if self.strategy.api == Api.CHAT:
            gen, timed, feed = self._chat(raw, out, (headers or {}).get(TASK_HEADER))
        else:
            gen, timed, feed = self._responses(raw, out, ws)
        events: list[tuple[float, int, bool]] = []
        received = 0 if ws else HTTP_REPLY_HEAD
        for at, data, token in timed:
            feed(data)
            size = frame_size(len(data), masked=False) if ws else len(data) + CHUNK_OVERHEAD
            received += size
            events.append((at, size, token))
        state = self.engine.finish(gen)
        if ws:
            self._memory = state
        sent = frame_size(len(raw), masked=True) if ws else HTTP_REQUEST_HEAD + len(raw)
        self.counter.sent += sent
        self.counter.received += received
        self.counter.payload_sent += len(raw)
        assert gen.work is not None
        self.log.append(Exchange(sent, received, gen.work, tuple(events), opened))
        out.t_first_token = out.t_first_token and 0.0
        out.t_end = 0.0
        return out

    def _responses(
        self, raw: bytes, out: TurnOutcome, ws: bool
    ) -> tuple[Any, Iterator[tuple[float, bytes, bool]], Callable[[bytes], bool]]:
        # (the mock's request parsing and streaming: loaded when a task is played, not with the CLI)
        from ..mock.requests import parse_create
        from ..mock.streaming import is_token, sequencer

        req = parse_create(json.loads(raw), websocket=ws)
        memory = self._memory if ws else None
        prev = self.engine.resolve_previous(req, memory)
        warm = prev is not None and prev is memory
        gen = self.engine.start(req, prev, "sim", body_bytes=len(raw), new_request=not ws, warm=warm)
        consumer = ResponsesConsumer(out)
        stamp = sequencer()

        def timed() -> Iterator[tuple[float, bytes, bool]]:
            for at, event in gen.events():
                stamp(event)
                data = dumps_ascii(event)
                if not ws:  # SSE: an event line and a data line
                    data = f"event: {event['type']}\ndata: ".encode() + data + b"\n\n"
                yield at, data, is_token(event)

        def feed(data: bytes) -> bool:
            if not ws:
                etype, _, rest = data.partition(b"\ndata: ")
                return consumer.feed(etype[7:].decode(), rest.rstrip(b"\n"))
            return consumer.feed(json.loads(data)["type"], data)

        return gen, timed(), feed

    def _chat(
        self, raw: bytes, out: TurnOutcome, task: str | None
    ) -> tuple[Any, Iterator[tuple[float, bytes, bool]], Callable[[bytes], bool]]:
        # (the mock's chat module imports aiohttp: loaded when a chat task is played, not with the CLI)
        from ..mock.chat import chat_chunks
        from ..mock.requests import parse_chat
        from ..mock.streaming import is_chat_token

        chat = parse_chat(json.loads(raw), task)
        gen = self.engine.start_chat(chat, "sim", body_bytes=len(raw))
        consumer = ChatConsumer(out)

        def timed() -> Iterator[tuple[float, bytes, bool]]:
            last = 0.0
            for at, chunk in chat_chunks(gen, "chatcmpl-sim", 0, chat.include_usage):
                last = at
                yield at, b"data: " + dumps_ascii(chunk) + b"\n\n", is_chat_token(chunk)
            yield last, b"data: [DONE]\n\n", False

        def feed(data: bytes) -> bool:
            return consumer.feed(data[6:].rstrip(b"\n"))

        return gen, timed(), feed


@dataclass(eq=False)
class Player:
    """Plays tasks against one in-process engine with the realistic latency model (no server cost:
    the work is counted, and priced afterwards)."""

    latency: LatencyModel = field(default_factory=LatencyModel)
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(MockConfig(latency=self.latency))
            self._engine.count_work = True
        return self._engine

    @functools.cache  # noqa: B019 (one player per calibration)
    def play(self, task: str, strategy: str, model: str) -> Played:
        """The task's second run on one connection (the first opens it: a long run's tasks do not)."""
        t = load_task(task)
        transport = SimTransport(strategy, self.engine)
        settings = AgentSettings(strategy=BY_NAME[strategy], model=model, tool_latency_jitter=0.0)
        agent = Agent(settings, transport, 1, lambda r, o: None, lambda r: None, sleep=lambda s: None)
        agent.run_task(t)
        transport.log.clear()
        turns: list[list[Exchange]] = []
        marks: list[int] = []

        def on_turn(record: Any, outcome: Any) -> None:
            marks.append(len(transport.log))

        agent.on_turn = on_turn
        rec = agent.run_task(t)
        if not rec.ok:
            raise RuntimeError(f"{task} on {strategy}: {rec.error_kind}")
        start = 0
        for end in marks:
            turns.append(transport.log[start:end])
            start = end
        return Played(task, strategy, model, tuple(tuple(t) for t in turns), rec.tool_time_ms / 1000.0)
