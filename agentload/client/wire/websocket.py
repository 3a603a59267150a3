"""A small RFC 6455 client on a gevent counting socket, for the WebSocket agents.

Why our own: the agents' receive path is the generator's hot loop. websocket-client validates UTF-8
in pure Python by default and makes several small socket reads per frame; this client reads 64 KB
blocks into one buffer and slices frames out of it, an order of magnitude more frames per CPU-second
(bench/wsclient.py prints both; README, Performance). The framing is core.websocket's codec (masking,
fragments, control frames, permessage-deflate); this module does the I/O: the upgrade, the reads,
answering pings and closes. Only what the Responses WebSocket mode needs: text frames, and
permessage-deflate when asked (``deflate``: RFC 7692, offered on the upgrade as Codex offers it; the
transform itself is core.deflate). The counter keeps the wire bytes (compressed frames, as TCP carries
them) and the messages' payload bytes (before compression, after decompression) apart.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import gevent.socket

from ...core.deflate import DeflateParams, MessageDeflate, MessageInflate, mem_level_for, parse_answer
from ...core.protocol import default_port
from ...core.websocket import (
    CLOSE_NORMAL,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    WsCodec,
    accept_key,
    close_payload,
    new_key,
    parse_close,
)
from .counting import WireCounter, counting_socket, ssl_context
from .link import Link

RECV_BLOCK = 65536


class WsClosed(ConnectionError):
    """The server closed the connection (close frame or EOF)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code, self.reason = code, reason
        super().__init__(f"websocket closed (code {code}{': ' + reason if reason else ''})")


class WsHandshakeError(ConnectionError):
    """The upgrade was refused: carries the HTTP status, headers and body (a 401 or a 429, say);
    status 0 with no body: the server closed the connection before any answer."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        super().__init__(f"websocket upgrade refused with HTTP {status}")

    def answer(self) -> str:
        """What the server answered the upgrade with, in a few words (its own error message, where it
        sent one, is the caller's to add: it may need redacting)."""
        if self.status == 0:
            return self.body.decode("latin-1")[:100] if self.body else "no answer: the connection was closed"
        if self.status == 101:  # switched, but not as asked
            return f"HTTP 101 with {self.body.decode('latin-1')[:100]}"
        kind = self.headers.get("content-type", "").split(";")[0] or "no content type"
        return f"HTTP {self.status}, {kind}, {len(self.body)} bytes"


@dataclass
class WsConnection:
    url: str
    headers: dict[str, str]
    counter: WireCounter = field(default_factory=WireCounter)
    connect_timeout: float = 10.0
    network_timeout: float = 120.0
    insecure: bool = False
    link: Link | None = None  # the agent's link (--link): round trips and rates
    handshake_headers: dict[str, str] = field(default_factory=dict)
    handshake_bytes: tuple[int, int] = (0, 0)
    deflate: DeflateParams | None = None  # offer permessage-deflate with these parameters

    def __post_init__(self) -> None:
        self.sock: Any = None
        self._head = bytearray()  # the upgrade's answer, until its head (and a refusal's body) is read
        self._codec = WsCodec(client=True)  # the frames after it
        self.agreed: DeflateParams | None = None  # what the server accepted (None: no compression)

    # ---------------------------------------------------------------------------------- handshake
    def connect(self) -> None:
        u = urlsplit(self.url)
        tls = u.scheme == "wss"
        host = u.hostname or "127.0.0.1"
        port = u.port or default_port(u.scheme)
        before = self.counter.snapshot()
        infos = gevent.socket.getaddrinfo(host, port, 0, gevent.socket.SOCK_STREAM)
        family, socktype, proto, _, addr = infos[0]
        if tls:
            raw = gevent.socket.socket(family, socktype, proto)
        else:
            raw = counting_socket(self.counter, family, socktype, proto, self.link)
        raw.settimeout(self.connect_timeout)
        try:
            raw.connect(addr)
            if tls:
                ctx = ssl_context(self.counter, self.insecure, self.link)
                raw = ctx.wrap_socket(raw, server_hostname=host)
            raw.settimeout(self.network_timeout)
        except BaseException:
            raw.close()
            raise
        self.sock = raw
        key = new_key()
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        host_header = host if u.port is None else f"{host}:{port}"
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host_header}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.deflate is not None:
            lines.append(f"Sec-WebSocket-Extensions: {self.deflate.offer()}")
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        try:
            raw.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            try:
                status, headers = self._read_http_head()
            except (WsClosed, ConnectionResetError):  # closed before any answer: a refusal, not a loss
                raise WsHandshakeError(0, {}, b"") from None
            if status != 101:
                body = self._read_body(headers)
                raise WsHandshakeError(status, headers, body)
            if headers.get("sec-websocket-accept") != accept_key(key):
                raise WsHandshakeError(status, headers, b"bad Sec-WebSocket-Accept")
            self._agree(headers.get("sec-websocket-extensions", ""))
            self._codec.receive_data(bytes(self._head))  # frames that came with the answer
            self._head = bytearray()
        except BaseException:
            self.close_socket()
            raise
        self.handshake_headers = headers
        after = self.counter.snapshot()
        self.handshake_bytes = (after[0] - before[0], after[1] - before[1])

    def _agree(self, answer: str) -> None:
        """The extension the server answered with: permessage-deflate only if offered (else a fail)."""
        if not answer:
            return
        if self.deflate is None:
            raise WsHandshakeError(101, {}, b"the server chose an extension that was not offered")
        try:
            agreed = parse_answer(answer, self.deflate)
        except ValueError as e:
            raise WsHandshakeError(101, {}, str(e).encode()) from None
        if agreed is None:
            return
        self.agreed = agreed
        bits = agreed.client_max_window_bits
        self._codec = WsCodec(
            client=True,
            deflate=MessageDeflate(bits, agreed.client_no_context_takeover, mem_level=mem_level_for(bits)),
            inflate=MessageInflate(agreed.server_max_window_bits, agreed.server_no_context_takeover),
        )

    def _recv(self) -> bytes:
        assert self.sock is not None
        data: bytes = self.sock.recv(RECV_BLOCK)
        if not data:
            raise WsClosed(None, "connection closed by peer")
        return data

    def _read_http_head(self) -> tuple[int, dict[str, str]]:
        buf = self._head
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > 65536:
                raise WsHandshakeError(0, {}, b"response head too large")
            buf += self._recv()
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[: end + 4]
        parts = head[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers: dict[str, str] = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def _read_body(self, headers: dict[str, str]) -> bytes:
        try:
            n = int(headers.get("content-length", "0"))
        except ValueError:
            n = 0
        buf = self._head
        try:
            while len(buf) < n:
                buf += self._recv()
        except (WsClosed, OSError):
            pass
        body = bytes(buf[:n])
        del buf[:n]
        return body

    # ---------------------------------------------------------------------------------- frames
    def send_text(self, payload: bytes) -> None:
        assert self.sock is not None
        self.counter.payload_sent += len(payload)
        self.sock.sendall(self._codec.send(OP_TEXT, payload))

    def recv_message(self) -> bytes:
        """The next text or binary message's payload; answers pings, raises WsClosed on close (and
        ValueError on a stream that is not RFC 6455, or a message that does not inflate)."""
        codec = self._codec
        while True:
            message = codec.next_message()
            if message is None:
                codec.receive_data(self._recv())
                continue
            opcode, payload, _ = message
            if opcode < OP_CLOSE:  # text or binary (control frames are 0x8 and up)
                self.counter.payload_received += len(payload)
                return payload
            assert self.sock is not None
            if opcode == OP_PING:
                self.sock.sendall(codec.send(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                code, reason = parse_close(payload)
                with contextlib.suppress(OSError):
                    self.sock.sendall(codec.send(OP_CLOSE, payload[:2]))
                self.close_socket()
                raise WsClosed(code, reason)

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Polite close: send a close frame and drop the socket (no wait for the echo)."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.sendall(self._codec.send(OP_CLOSE, close_payload(code)))
        self.close_socket()

    def close_socket(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self._head = bytearray()
                self._codec = WsCodec(client=True)

    @property
    def connected(self) -> bool:
        return self.sock is not None
