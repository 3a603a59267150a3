"""A small RFC 6455 client on a gevent counting socket, for the WebSocket agents.

Why our own: the agents' receive path is the generator's hot loop. websocket-client validates UTF-8
in pure Python by default and makes several small socket reads per frame; this client reads 64 KB
blocks into one buffer and slices frames out of it, an order of magnitude more frames per CPU-second
(bench/wsclient.py prints both; README, Performance). Client frames are masked with one big-integer XOR.
Only what the Responses WebSocket mode needs: text frames, fragmentation, ping/pong, close, and
permessage-deflate when asked (``deflate``: RFC 7692, offered on the upgrade as Codex offers it; the
transform itself is core.deflate). The counter keeps the wire bytes (compressed frames, as TCP carries
them) and the messages' payload bytes (before compression, after decompression) apart.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import gevent.socket

from ...core.deflate import DeflateParams, MessageDeflate, MessageInflate, mem_level_for, parse_answer
from ...core.protocol import default_port
from .counting import WireCounter, counting_socket, ssl_context
from .uplink import Uplink

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RECV_BLOCK = 65536


class WsClosed(ConnectionError):
    """The server closed the connection (close frame or EOF)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code, self.reason = code, reason
        super().__init__(f"websocket closed (code {code}{': ' + reason if reason else ''})")


class WsHandshakeError(ConnectionError):
    """The upgrade was refused: carries the HTTP status, headers and body (a 401 or a 429, say)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        super().__init__(f"websocket upgrade refused with HTTP {status}")


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` repeated (RFC 6455 5.3), as one big-integer operation."""
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


RSV1 = 0x40  # a compressed message's first frame (RFC 7692)


def encode_frame(opcode: int, payload: bytes, key: bytes | None = None, rsv1: bool = False) -> bytes:
    """A single final client frame (masked, as RFC 6455 requires of clients)."""
    key = key if key is not None else os.urandom(4)
    n = len(payload)
    b0 = 0x80 | opcode | (RSV1 if rsv1 else 0)
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return head + key + mask_payload(payload, key)


@dataclass
class WsConnection:
    url: str
    headers: dict[str, str]
    counter: WireCounter = field(default_factory=WireCounter)
    connect_timeout: float = 10.0
    network_timeout: float = 120.0
    insecure: bool = False
    uplink: Uplink | None = None  # a shaped upload link (--uplink-kbps)
    handshake_headers: dict[str, str] = field(default_factory=dict)
    handshake_bytes: tuple[int, int] = (0, 0)
    deflate: DeflateParams | None = None  # offer permessage-deflate with these parameters

    def __post_init__(self) -> None:
        self.sock: Any = None
        self._buf = bytearray()
        self._pos = 0
        self.agreed: DeflateParams | None = None  # what the server accepted (None: no compression)
        self._deflate: MessageDeflate | None = None
        self._inflate: MessageInflate | None = None

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
            raw = counting_socket(self.counter, family, socktype, proto, self.uplink)
        raw.settimeout(self.connect_timeout)
        try:
            raw.connect(addr)
            if tls:
                ctx = ssl_context(self.counter, self.insecure, self.uplink)
                raw = ctx.wrap_socket(raw, server_hostname=host)
            raw.settimeout(self.network_timeout)
        except BaseException:
            raw.close()
            raise
        self.sock = raw
        key = base64.b64encode(os.urandom(16)).decode()
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
            status, headers = self._read_http_head()
            if status != 101:
                body = self._read_body(headers)
                raise WsHandshakeError(status, headers, body)
            expect = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
            if headers.get("sec-websocket-accept") != expect:
                raise WsHandshakeError(status, headers, b"bad Sec-WebSocket-Accept")
            self._agree(headers.get("sec-websocket-extensions", ""))
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
        self._deflate = MessageDeflate(bits, agreed.client_no_context_takeover, mem_level=mem_level_for(bits))
        self._inflate = MessageInflate(agreed.server_max_window_bits, agreed.server_no_context_takeover)

    def _fill(self) -> None:
        assert self.sock is not None
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos > RECV_BLOCK:
            del self._buf[: self._pos]
            self._pos = 0
        data = self.sock.recv(RECV_BLOCK)
        if not data:
            raise WsClosed(None, "connection closed by peer")
        self._buf += data

    def _read_http_head(self) -> tuple[int, dict[str, str]]:
        while True:
            end = self._buf.find(b"\r\n\r\n", self._pos)
            if end >= 0:
                break
            if len(self._buf) - self._pos > 65536:
                raise WsHandshakeError(0, {}, b"response head too large")
            self._fill()
        head = bytes(self._buf[self._pos : end]).decode("latin-1").split("\r\n")
        self._pos = end + 4
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
        try:
            while len(self._buf) - self._pos < n:
                self._fill()
        except (WsClosed, OSError):
            pass
        body = bytes(self._buf[self._pos : self._pos + n])
        self._pos += len(body)
        return body

    # ---------------------------------------------------------------------------------- frames
    def send_text(self, payload: bytes) -> None:
        assert self.sock is not None
        self.counter.payload_sent += len(payload)
        if self._deflate is not None:
            self.sock.sendall(encode_frame(OP_TEXT, self._deflate.compress(payload), rsv1=True))
        else:
            self.sock.sendall(encode_frame(OP_TEXT, payload))

    def _take(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n:
            self._fill()
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return out

    def recv_message(self) -> bytes:
        """The next text or binary message's payload; answers pings, raises WsClosed on close."""
        fragments: list[bytes] = []
        compressed = False
        while True:
            buf = self._buf
            if len(buf) - self._pos < 2:
                self._fill()
                continue
            b0, b1 = buf[self._pos], buf[self._pos + 1]
            n = b1 & 0x7F
            hlen = 2
            if n == 126:
                hlen = 4
            elif n == 127:
                hlen = 10
            masked = b1 & 0x80
            if masked:
                hlen += 4
            if len(buf) - self._pos < hlen:
                self._fill()
                continue
            if n == 126:
                n = struct.unpack_from("!H", buf, self._pos + 2)[0]
            elif n == 127:
                n = struct.unpack_from("!Q", buf, self._pos + 2)[0]
            start = self._pos + hlen
            mask_key = bytes(buf[start - 4 : start]) if masked else b""
            if len(buf) - start >= n:
                payload = bytes(buf[start : start + n])
                self._pos = start + n
            else:
                self._pos = start
                payload = self._take(n)
            if masked:  # servers must not mask; tolerate it anyway
                payload = mask_payload(payload, mask_key)
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            assert self.sock is not None
            if opcode == OP_PING:
                self.sock.sendall(encode_frame(OP_PONG, payload))
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                with contextlib.suppress(OSError):
                    self.sock.sendall(encode_frame(OP_CLOSE, payload[:2]))
                self.close_socket()
                raise WsClosed(code, payload[2:].decode("utf-8", "replace"))
            if opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                if opcode != OP_CONT:
                    compressed = bool(b0 & RSV1)
                if fin and not fragments:
                    return self._message(payload, compressed)
                fragments.append(payload)
                if fin:
                    return self._message(b"".join(fragments), compressed)

    def _message(self, payload: bytes, compressed: bool) -> bytes:
        if compressed:
            if self._inflate is None:
                raise ValueError("a compressed frame on a connection without permessage-deflate")
            try:
                payload = self._inflate.decompress(payload)
            except zlib.error as e:  # a malformed message, as a malformed event is
                raise ValueError(f"permessage-deflate: {e}") from None
        self.counter.payload_received += len(payload)
        return payload

    def close(self, code: int = 1000) -> None:
        """Polite close: send a close frame and drop the socket (no wait for the echo)."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.sendall(encode_frame(OP_CLOSE, struct.pack("!H", code)))
        self.close_socket()

    def close_socket(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self._buf = bytearray()
                self._pos = 0

    @property
    def connected(self) -> bool:
        return self.sock is not None
