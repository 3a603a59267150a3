"""One request/response exchange with the model, per wire protocol, with exact byte counts.

A transport is an agent's own connection to the API and the one place that knows its protocol: it
builds each turn's request body for its API (``build``) and runs the exchange (``exchange``), which
sends one request and consumes its streamed reply into a TurnOutcome. ``exchange`` never raises for
what the server or the network does (that becomes a classified failure in the outcome); only gevent's
GreenletExit (Locust stopping the user) passes through.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import gevent.queue
from gevent import GreenletExit
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from ..core.deflate import BodyEncoding, DeflateParams
from ..core.jsoncodec import dumps_utf8 as dumps
from ..core.link import LinkSpec
from ..core.protocol import API_PATH
from ..core.records import ErrorKind
from ..core.sse import iter_sse
from ..core.strategies import Api, Strategy
from ..core.websocket import frame_size
from .bodies import chat_body, responses_body
from .conversation import Conversation
from .settings import AgentSettings, Timeouts
from .stream import ChatConsumer, ResponsesConsumer, TurnOutcome, error_from_body, event_type
from .wire import rxstamp
from .wire.counting import WireCounter
from .wire.http import HttpReply, HttpWire
from .wire.lanes import Lanes
from .wire.link import Link
from .wire.websocket import WsClosed, WsConnection, WsHandshakeError

Request = tuple[dict[str, Any], dict[str, str] | None]  # a body and the request's extra headers
# the error code of a conversation's creation answered 404, 405 or 501 with no code of its own: the
# target does not serve the Conversations API (runtime.fatal names it so when it stops the run)
NO_CONVERSATIONS = "conversations_not_served"


def api_base(host: str) -> str:
    """The API's base URL, as the openai SDK's ``base_url`` reads it: a host with a path is the base
    itself (``http://gw:4000/openai/v1``, ``http://gw:4000/api``: a gateway at its own base path);
    a bare origin gets OpenAI's ``/v1`` (``http://127.0.0.1:8000`` -> ``http://127.0.0.1:8000/v1``).
    Every request path is this base and the endpoint (``/responses``, ``/chat/completions``,
    ``/models``), the WebSocket mode's upgrade too; the mock's own control endpoints stay at the
    origin's root (core.protocol.CONTROL_PREFIX)."""
    u = urlsplit(host.strip())
    path = u.path.rstrip("/") or API_PATH
    return urlunsplit((u.scheme, u.netloc, path, "", ""))


def ws_url(base: str) -> str:
    u = urlsplit(base)
    return urlunsplit(("wss" if u.scheme == "https" else "ws", u.netloc, u.path + "/responses", "", ""))


class Phase(StrEnum):
    """Where a turn was when its connection failed: the ``error_code`` of a timeout or a loss."""

    CONNECT = "connect"
    FIRST_TOKEN = "first_token"
    IDLE = "idle"


TIMEOUT_MESSAGES = {
    Phase.CONNECT: "no connection within --connect-timeout",
    Phase.FIRST_TOKEN: "no first token within --first-token-timeout",
    Phase.IDLE: "the stream stalled for --idle-timeout",
}


def _network_failure(out: TurnOutcome, e: BaseException, phase: Phase) -> None:
    """A socket-level failure, classified: timeouts by phase, WebSocket closes by code."""
    if isinstance(e, TimeoutError | socket.timeout):
        out.fail(ErrorKind.TIMEOUT, TIMEOUT_MESSAGES[phase], f"{phase}_timeout")
    elif isinstance(e, WsClosed):
        code = e.code or 1006  # no close frame: RFC 6455's "abnormal closure"
        out.fail(ErrorKind.CONNECTION, str(e), f"ws_close_{code}")
    elif isinstance(e, ssl.SSLError):
        out.fail(ErrorKind.CONNECTION, f"TLS error: {e.reason or e.__class__.__name__}", "tls")
    elif phase == Phase.CONNECT:
        out.fail(ErrorKind.CONNECTION, _describe(e), "connect_failed")
    else:
        out.fail(ErrorKind.CONNECTION, _describe(e), "connection_lost")


def _refused_upgrade(out: TurnOutcome, e: WsHandshakeError) -> None:
    """A refused WebSocket upgrade: a refused key, a limit or a server's failure as over HTTP (their
    statuses say so); anything else (no answer, a 200 page, a 400, a 404) is the endpoint not serving
    WebSocket mode at this path, which no retry fixes: ``upgrade_refused``, with what the server
    answered and its own error's type and message where it sent one."""
    if e.status in (401, 403, 429) or e.status >= 500:
        error_from_body(out, e.status, e.body)
        return
    server = TurnOutcome()
    error_from_body(server, e.status or None, e.body)
    said = ""
    if server.error_type or server.error_code:  # an OpenAI-shaped error body: its own words
        label = ", ".join(x for x in (server.error_type, server.error_code) if x)
        said = f" ({label}: {server.error_message})"
    out.fail(ErrorKind.UPGRADE_REFUSED, f"{e.answer()}{said}", "upgrade_refused", e.status or None)
    out.error_type = server.error_type


def _describe(e: BaseException) -> str:
    return f"{e.__class__.__name__}: {getattr(e, 'strerror', None) or e}"[:200]


def _malformed(out: TurnOutcome, e: ValueError) -> None:
    out.fail(ErrorKind.PROTOCOL, f"malformed event: {e}"[:200], "malformed_event")


def consume_stream(
    out: TurnOutcome,
    events: Iterable[Any],
    feed: Callable[..., bool],
    sock: Any,
    timeouts: Timeouts,
) -> bool:
    """Feeds a reply's events until one finishes the response; True if one did.

    Keeps the socket's timeout on the phase: the time left to the first-token deadline until output
    flows, then the idle timeout. The first token takes the kernel's arrival stamp (wire/rxstamp.py)."""
    deadline = out.t_start + timeouts.first_token_s
    flowing = False
    try:
        for event in events:
            if feed(*event):
                return True
            if flowing:
                continue
            if out.t_first_token is not None:
                flowing = True
                if sock is not None:
                    _stamp_first_token(out, sock)
                    sock.settimeout(timeouts.idle_s)
            elif sock is not None:
                sock.settimeout(max(0.001, deadline - time.perf_counter()))
        return False
    finally:
        if sock is not None:
            rxstamp.disarm(sock)


def _stamp_first_token(out: TurnOutcome, sock: Any) -> None:
    """Moves the first token's time from when its agent read it back to when it reached this machine
    (the stamp of the read that brought it), keeps the difference as the agent's lag, and stops
    stamping: the rest of the stream is read plainly."""
    assert out.t_first_token is not None
    t = rxstamp.arrival(sock, out.t_first_token, out.t_start)
    rxstamp.disarm(sock)
    if t is not None:
        out.client_lag_ms = (out.t_first_token - t) * 1000.0
        out.t_first_token = t


class Transport(Protocol):
    """An agent's connection, as the agent loop uses it."""

    counter: WireCounter  # every byte this agent's connections sent and received

    @property
    def session(self) -> int:
        """Changes whenever the server-side state of the connection is lost (a new WebSocket)."""
        ...

    @property
    def connects(self) -> int:
        """Connections this transport has opened that carry state or a handshake worth counting apart
        (WebSocket upgrades); 0 for HTTP, whose keep-alive connections hold nothing."""
        ...

    @property
    def handshake_bytes(self) -> tuple[int, int]:
        """(sent, received) of the latest connection's handshake; (0, 0) where there is none."""
        ...

    @property
    def is_open(self) -> bool:
        """A WebSocket connection is open now: what an API's connection limit counts (and the
        rate-limit probe with it); HTTP keep-alive connections are not counted."""
        ...

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Request:
        """The next turn's request for this transport's API (``full``: the whole history)."""
        ...

    def build_warmup(self, conv: Conversation, settings: AgentSettings) -> Request | None:
        """A warm-up request (``generate: false``) before the first turn on a connection, where the
        conversation's client profile sends one on this transport; None where it does not."""
        ...

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome: ...

    def reset(self) -> None:
        """Drop the connection (the next exchange reconnects)."""
        ...

    def close(self) -> None:
        """End the connection cleanly (a WebSocket sends its close frame)."""
        ...


@runtime_checkable
class ConversationOpener(Protocol):
    """A transport that makes server-side Conversations (the Conversations API: http-conversation)."""

    def open_conversation(self, metadata: dict[str, str]) -> TurnOutcome:
        """``POST /conversations``: the new conversation's id in the outcome's ``response_id``."""
        ...


class _HttpStreaming:
    """HTTP POST with a streamed (SSE) reply on one kept-alive connection; holds no server state."""

    path = ""
    session = 0
    connects = 0
    handshake_bytes = (0, 0)
    is_open = False

    def __init__(
        self,
        base: str,
        headers: dict[str, str],
        timeouts: Timeouts,
        link: Link | None = None,
        encoding: BodyEncoding = BodyEncoding.OFF,
    ) -> None:
        self.timeouts = timeouts
        self.encoding = encoding
        self.wire = HttpWire(
            base,
            headers,
            connect_timeout=timeouts.connect_s,
            network_timeout=timeouts.first_token_s,
            link=link,
        )
        self.counter = self.wire.counter

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        out = TurnOutcome()
        reply: HttpReply | None = None
        sent0 = self.counter.sent
        phase = Phase.FIRST_TOKEN
        try:
            reply = self.wire.post_json(
                self.path, dumps(body), headers, timeout=self.timeouts.first_token_s, encoding=self.encoding
            )
            out.http_status, out.headers = reply.status, reply.headers
            if reply.status != 200:
                error_from_body(out, reply.status, reply.read())
                return out
            finished = consume_stream(
                out, iter_sse(reply.pieces()), self._feeder(out), reply.sock, self.timeouts
            )
            phase = Phase.IDLE
            for _ in reply.pieces():  # the rest of the body (chunk terminator) so the connection is reusable
                pass
            if not finished:
                out.fail(ErrorKind.PROTOCOL, "stream ended without a terminal event", "truncated_stream")
        except (OSError, HTTPParseError, HTTPConnectionClosed) as e:
            if self.counter.sent == sent0:
                phase = Phase.CONNECT  # nothing went out: the connection never stood
            elif out.t_first_token is not None:
                phase = Phase.IDLE
            _network_failure(out, e, phase)
            self._drop(reply)
        except ValueError as e:  # malformed JSON in an event
            _malformed(out, e)
            self._drop(reply)
        except GreenletExit:  # the run stops mid-turn: close this socket too, not only the pooled ones
            self._drop(reply)
            raise
        return out

    def _drop(self, reply: HttpReply | None) -> None:
        if reply is not None:
            reply.close()
        self.reset()

    def build_warmup(self, conv: Conversation, settings: AgentSettings) -> Request | None:
        return None  # warm-ups are WebSocket mode's

    def _feeder(self, out: TurnOutcome) -> Callable[..., bool]:
        raise NotImplementedError

    def reset(self) -> None:
        self.wire.drop_idle()

    def close(self) -> None:
        self.wire.close()


class ResponsesHttp(_HttpStreaming):
    """``POST /v1/responses`` with ``stream: true``."""

    path = "/responses"

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Request:
        body = responses_body(conv, settings, full)
        body["stream"] = True
        return body, None

    def _feeder(self, out: TurnOutcome) -> Callable[..., bool]:
        consumer = ResponsesConsumer(out)
        return lambda etype, data: consumer.feed(etype or event_type(data), data)

    def open_conversation(self, metadata: dict[str, str]) -> TurnOutcome:
        """``POST /conversations`` on this agent's connection (a JSON reply, no stream)."""
        out = TurnOutcome()
        sent0 = self.counter.sent
        reply: HttpReply | None = None
        try:
            reply = self.wire.post_json(
                "/conversations",
                dumps({"metadata": metadata}),
                timeout=self.timeouts.first_token_s,
                encoding=self.encoding,
            )
            out.http_status, out.headers = reply.status, reply.headers
            body = reply.read()
            if reply.status != 200:
                error_from_body(out, reply.status, body)
                if reply.status in (404, 405, 501) and out.error_code is None:
                    out.error_code = NO_CONVERSATIONS
                return out
            obj = json.loads(body)
            cid = obj.get("id") if isinstance(obj, dict) else None
            if not isinstance(cid, str):
                raise ValueError("no conversation id")
            out.response_id, out.ok, out.done = cid, True, True
            out.t_end = time.perf_counter()
        except (OSError, HTTPParseError, HTTPConnectionClosed) as e:
            _network_failure(out, e, Phase.CONNECT if self.counter.sent == sent0 else Phase.FIRST_TOKEN)
            self._drop(reply)
        except ValueError as e:
            out.fail(ErrorKind.PROTOCOL, f"malformed conversation: {e}"[:200], "malformed_event")
            self._drop(reply)
        except GreenletExit:
            self._drop(reply)
            raise
        return out


class ChatHttp(_HttpStreaming):
    """``POST /v1/chat/completions`` with ``stream: true`` (and usage in the last chunk)."""

    path = "/chat/completions"

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Request:
        return chat_body(conv, settings)

    def _feeder(self, out: TurnOutcome) -> Callable[..., bool]:
        consumer = ChatConsumer(out)
        return lambda _etype, data: consumer.feed(data)


def _ws_create(
    conv: Conversation, settings: AgentSettings, full: bool, stream_id: str | None = None
) -> dict[str, Any]:
    """A ``response.create`` message: the Responses body, on its lane when the connection has lanes."""
    body: dict[str, Any] = {"type": "response.create", **responses_body(conv, settings, full)}
    if stream_id is not None:
        body["stream_id"] = stream_id
    if conv.profile.ws_stream:
        body["stream"] = True
    return body


def _ws_warmup(conv: Conversation, settings: AgentSettings, stream_id: str | None = None) -> Request | None:
    """The client's warm-up (``generate: false``) before its first turn, if its profile makes one."""
    if not conv.profile.ws_warmup or conv.warmup_count == 0:
        return None
    body = _ws_create(conv, settings, True, stream_id)
    body.update(responses_body(conv, settings, True, warmup=True), generate=False)
    return body, None


class ResponsesWebSocket:
    """Responses WebSocket mode: one connection, opened on first use and again after a loss; with
    ``deflate``, each connection offers permessage-deflate with those parameters."""

    def __init__(
        self,
        base: str,
        headers: dict[str, str],
        timeouts: Timeouts,
        link: Link | None = None,
        deflate: DeflateParams | None = None,
    ) -> None:
        self.link = link
        self.deflate = deflate
        self.url = ws_url(base)
        self.headers = headers
        self.counter = WireCounter()
        self.timeouts = timeouts
        self.conn: WsConnection | None = None
        self.connects = 0

    @property
    def session(self) -> int:
        return self.connects if self.conn is not None else -1

    @property
    def handshake_bytes(self) -> tuple[int, int]:
        return self.conn.handshake_bytes if self.conn is not None else (0, 0)

    @property
    def is_open(self) -> bool:
        return self.conn is not None and self.conn.connected

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Request:
        return _ws_create(conv, settings, full), None

    def build_warmup(self, conv: Conversation, settings: AgentSettings) -> Request | None:
        return _ws_warmup(conv, settings)

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        out = TurnOutcome()
        phase = Phase.CONNECT
        try:
            if self.conn is None or not self.conn.connected:
                t = self.timeouts
                self.conn = WsConnection(
                    self.url,
                    self.headers,
                    self.counter,
                    connect_timeout=t.connect_s,
                    network_timeout=t.connect_s,
                    link=self.link,
                    deflate=self.deflate,
                )
                self.connects += 1
                try:
                    self.conn.connect()
                except WsHandshakeError as e:
                    out.headers = e.headers
                    _refused_upgrade(out, e)
                    self.conn = None
                    return out
                out.headers = self.conn.handshake_headers
            phase = Phase.FIRST_TOKEN
            conn = self.conn
            assert conn.sock is not None
            conn.sock.settimeout(self.timeouts.first_token_s)
            rxstamp.arm(conn.sock)
            conn.send_text(dumps(body))
            consumer = ResponsesConsumer(out)
            recv = conn.recv_message
            consume_stream(
                out,
                ((event_type(raw), raw) for raw in iter(recv, None)),
                consumer.feed,
                conn.sock,
                self.timeouts,
            )
            if out.error_kind == ErrorKind.CONNECTION_LIMIT:
                self.reset()
        except OSError as e:  # WsClosed included
            if out.t_first_token is not None:
                phase = Phase.IDLE
            _network_failure(out, e, phase)
            self.reset()
        except ValueError as e:
            _malformed(out, e)
            self.reset()
        return out

    def reset(self) -> None:
        if self.conn is not None:
            self.conn.close_socket()
            self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class MuxLane:
    """ws-mux: one ``stream_id`` lane of the WebSocket an agent and its subagents share (wire/lanes.py).

    The root lane is the agent's (closing it closes the connection); ``child`` gives a subagent a lane
    of its own on the same connection (closing it frees the lane). A lane's bytes are its share: its
    requests' frames as sent, its events' frames as they arrive (their sizes as framed: exact without
    permessage-deflate), and a connection's handshake for the lane that opened it."""

    def __init__(self, lanes: Lanes, timeouts: Timeouts, root: bool = True) -> None:
        self.lanes = lanes
        self.timeouts = timeouts
        self.root = root
        self.counter = WireCounter()
        self.stream_id = lanes.take()
        self.connects = 0
        self.handshake_bytes = (0, 0)

    def child(self) -> MuxLane:
        return MuxLane(self.lanes, self.timeouts, root=False)

    @property
    def session(self) -> int:
        """The shared connection's: a response made on any lane of it can be continued on another."""
        return self.lanes.connects if self.lanes.connected else -1

    @property
    def is_open(self) -> bool:
        return self.lanes.connected

    def build(self, conv: Conversation, settings: AgentSettings, full: bool) -> Request:
        return _ws_create(conv, settings, full, self.stream_id), None

    def build_warmup(self, conv: Conversation, settings: AgentSettings) -> Request | None:
        return _ws_warmup(conv, settings, self.stream_id)

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        out = TurnOutcome()
        phase = Phase.CONNECT
        name = self.stream_id
        finished = False
        try:
            if not self.lanes.connected:
                try:
                    opened = self.lanes.connect()
                except WsHandshakeError as e:
                    out.headers = e.headers
                    _refused_upgrade(out, e)
                    return out
                if opened:  # the handshake is this lane's, and its headers (rate limits) this turn's
                    self.connects += 1
                    self.handshake_bytes = self.lanes.handshake_bytes
                    self.counter.sent += self.handshake_bytes[0]
                    self.counter.received += self.handshake_bytes[1]
                    out.headers = self.lanes.handshake_headers
            phase = Phase.FIRST_TOKEN
            queue = self.lanes.listen(name)
            payload = dumps(body)
            self.counter.sent += self.lanes.send(payload)
            self.counter.payload_sent += len(payload)
            finished = consume_stream(
                out, self._events(queue, out), ResponsesConsumer(out).feed, None, self.timeouts
            )
            if out.error_kind == ErrorKind.CONNECTION_LIMIT:
                self.lanes.reset()
        except OSError as e:  # WsClosed and a lane's timeout included
            _network_failure(out, e, Phase.IDLE if out.t_first_token is not None else phase)
        except ValueError as e:
            _malformed(out, e)
        finally:
            self.lanes.done(name)
            if phase != Phase.CONNECT and not finished:  # its events may still come: a new name
                self.stream_id = self.lanes.retire(name)
        return out

    def _events(self, queue: gevent.queue.Queue[Any], out: TurnOutcome) -> Iterator[tuple[str, bytes]]:
        """The lane's events as they arrive, each within the time left to the first token (then the
        idle timeout); a failure of the connection is raised where it comes."""
        deadline = out.t_start + self.timeouts.first_token_s
        while True:
            wait = (
                self.timeouts.idle_s
                if out.t_first_token is not None
                else max(0.001, deadline - time.perf_counter())
            )
            try:
                item = queue.get(timeout=wait)
            except gevent.queue.Empty:
                raise TimeoutError("no event in time") from None
            if isinstance(item, BaseException):
                raise item
            self.counter.received += frame_size(len(item), masked=False)
            self.counter.payload_received += len(item)
            yield event_type(item), item

    def reset(self) -> None:
        self.lanes.reset()

    def close(self) -> None:
        if self.root:
            self.lanes.close()
        else:
            self.lanes.give_back(self.stream_id)


def spawner(
    strategy: Strategy, base: str, headers: dict[str, str], config: TransportConfig
) -> Callable[[Transport], Transport]:
    """How an agent's subagents get their transports (client.agent.SpawnTransport): on ws-mux a lane of
    their parent's connection, else a connection of their own, as their parent's was made."""

    def spawn(parent: Transport) -> Transport:
        if isinstance(parent, MuxLane):
            return parent.child()
        return make_transport(strategy, base, headers, config)

    return spawn


@dataclass(frozen=True)
class TransportConfig:
    """How a run's agents connect, the same for every agent (built once per run from its settings).

    ``link`` puts each agent's connections behind a link (its round trips and rates: wire/link.py;
    None: loopback as it is, and the sockets do no work for it); ``ws_deflate`` offers
    permessage-deflate on WebSocket connections; ``http_compression`` compresses HTTP request bodies;
    ``http_accept_encoding`` asks for compressed HTTP replies (Accept-Encoding)."""

    timeouts: Timeouts
    link: LinkSpec | None = None
    ws_deflate: DeflateParams | None = None
    http_compression: BodyEncoding = BodyEncoding.OFF
    http_accept_encoding: BodyEncoding = BodyEncoding.OFF


def make_transport(
    strategy: Strategy, base: str, headers: dict[str, str], config: TransportConfig
) -> Transport:
    """A strategy's own connection to the API at ``base``, sending ``headers`` on every request."""
    c = config
    link = Link(c.link) if c.link is not None and not c.link.off else None
    if c.http_accept_encoding != BodyEncoding.OFF and not strategy.websocket:
        headers = {**headers, "Accept-Encoding": c.http_accept_encoding.value}
    if strategy.mux:
        lanes = Lanes(ws_url(base), headers, c.timeouts.connect_s, link, c.ws_deflate)
        return MuxLane(lanes, c.timeouts)
    if strategy.websocket:
        return ResponsesWebSocket(base, headers, c.timeouts, link, c.ws_deflate)
    if strategy.api == Api.CHAT:
        return ChatHttp(base, headers, c.timeouts, link, c.http_compression)
    return ResponsesHttp(base, headers, c.timeouts, link, c.http_compression)
