"""One request/response exchange with the model, per wire protocol, with exact byte counts.

``exchange(body)`` sends one request and consumes its streamed reply into a TurnOutcome. It never
raises for what the server or the network does (that becomes a classified failure in the outcome);
only gevent's GreenletExit (Locust stopping the user) passes through.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from .jsoncodec import dumps_utf8 as dumps
from .records import ErrorKind
from .stream import ChatConsumer, ResponsesConsumer, TurnOutcome, error_from_body, event_type
from .wire.counting import WireCounter
from .wire.http import HttpWire, iter_sse
from .wire.websocket import WsClosed, WsConnection, WsHandshakeError

TASK_HEADER = "X-Agentload-Task"


def api_base(host: str) -> str:
    """``http://127.0.0.1:8000`` -> ``http://127.0.0.1:8000/v1``; a URL that already ends in /v1 stays."""
    u = urlsplit(host.rstrip("/"))
    path = u.path if u.path.endswith("/v1") else u.path + "/v1"
    return urlunsplit((u.scheme, u.netloc, path, "", ""))


def ws_url(base: str) -> str:
    u = urlsplit(base)
    return urlunsplit(("wss" if u.scheme == "https" else "ws", u.netloc, u.path + "/responses", "", ""))


def _network_failure(out: TurnOutcome, e: BaseException) -> None:
    if isinstance(e, TimeoutError | socket.timeout):
        out.fail(ErrorKind.TIMEOUT, f"timed out ({e.__class__.__name__})")
    elif isinstance(e, ssl.SSLError):
        out.fail(ErrorKind.CONNECTION, f"TLS error: {e.reason or e.__class__.__name__}")
    else:
        out.fail(ErrorKind.CONNECTION, f"{e.__class__.__name__}: {getattr(e, 'strerror', None) or e}"[:200])


class Transport(Protocol):
    counter: WireCounter

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class _HttpStreaming:
    path = ""

    def __init__(self, base: str, headers: dict[str, str], timeout: float) -> None:
        self.wire = HttpWire(base, headers, network_timeout=timeout)
        self.counter = self.wire.counter

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        out = TurnOutcome()
        try:
            reply = self.wire.post_json(self.path, dumps(body), headers)
            out.http_status, out.headers = reply.status, reply.headers
            if reply.status != 200:
                error_from_body(out, reply.status, reply.read())
                return out
            finished = self._consume(out, reply.lines())
            for _ in reply.lines():  # the rest of the body (chunk terminator) so the connection is reusable
                pass
            if not finished:
                out.fail(ErrorKind.PROTOCOL, "stream ended without a terminal event")
        except (OSError, HTTPParseError, HTTPConnectionClosed) as e:
            _network_failure(out, e)
            self.reset()
        except ValueError as e:  # malformed JSON in an event
            out.fail(ErrorKind.PROTOCOL, f"malformed event: {e}"[:200])
            self.reset()
        return out

    def _consume(self, out: TurnOutcome, lines: Any) -> bool:
        raise NotImplementedError

    def reset(self) -> None:
        """Drop the connection (the next exchange reconnects)."""
        self.wire.client._connection_pool.close()

    def close(self) -> None:
        self.wire.close()


class ResponsesHttp(_HttpStreaming):
    path = "/responses"

    def _consume(self, out: TurnOutcome, lines: Any) -> bool:
        consumer = ResponsesConsumer(out)
        return any(consumer.feed(etype or event_type(data), data) for etype, data in iter_sse(lines))


class ChatHttp(_HttpStreaming):
    path = "/chat/completions"

    def _consume(self, out: TurnOutcome, lines: Any) -> bool:
        consumer = ChatConsumer(out)
        return any(consumer.feed(data) for _, data in iter_sse(lines))


class ResponsesWebSocket:
    """One WebSocket connection, opened on first use and again after a loss."""

    def __init__(self, base: str, headers: dict[str, str], timeout: float) -> None:
        self.url = ws_url(base)
        self.headers = headers
        self.counter = WireCounter()
        self.timeout = timeout
        self.conn: WsConnection | None = None
        self.connects = 0

    def exchange(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> TurnOutcome:
        out = TurnOutcome()
        try:
            if self.conn is None or not self.conn.connected:
                self.conn = WsConnection(self.url, self.headers, self.counter, network_timeout=self.timeout)
                self.connects += 1
                try:
                    self.conn.connect()
                except WsHandshakeError as e:
                    out.headers = e.headers
                    error_from_body(out, e.status, e.body)
                    self.conn = None
                    return out
                out.headers = self.conn.handshake_headers
            self.conn.send_text(dumps(body))
            consumer = ResponsesConsumer(out)
            while True:
                raw = self.conn.recv_message()
                if consumer.feed(event_type(raw), raw):
                    break
            if out.error_kind == ErrorKind.CONNECTION_LIMIT:
                self.reset()
        except WsClosed as e:
            out.fail(ErrorKind.CONNECTION, str(e))
            self.reset()
        except OSError as e:
            _network_failure(out, e)
            self.reset()
        except ValueError as e:
            out.fail(ErrorKind.PROTOCOL, f"malformed event: {e}"[:200])
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
