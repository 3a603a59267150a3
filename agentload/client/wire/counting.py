"""Sockets that count every byte they send and receive, for exact per-turn wire sizes.

Over plain TCP the count is the TCP payload: HTTP request line, headers, chunk framing, body,
WebSocket handshake, frame headers and masks. Over TLS it is the same application bytes inside TLS
(the TLS record overhead, about 29 bytes per record, is not included), so https and http runs compare.
"""

from __future__ import annotations

import contextlib
import socket as _stdsocket
import ssl as _stdssl
import time
from dataclasses import dataclass
from typing import Any, cast

import certifi
import gevent.socket
import gevent.ssl
from gevent._socketcommon import timeout_default

from ...core.link import TLS_ROUND_TRIPS
from . import rxstamp
from .link import Link


@dataclass
class WireCounter:
    """Running totals for one agent's connection(s); a turn's bytes are the difference of two reads."""

    sent: int = 0
    received: int = 0
    payload_sent: int = 0  # the messages' bytes before compression (JSON bodies, WebSocket messages)
    payload_received: int = 0  # and after decompression (SSE bodies, WebSocket messages)

    def snapshot(self) -> tuple[int, int]:
        return self.sent, self.received

    def payload_snapshot(self) -> tuple[int, int]:
        return self.payload_sent, self.payload_received


def data_waiting(sock: Any) -> bool:
    """Bytes (or the peer's EOF) wait unread in the kernel's buffer right now."""
    try:
        sock._sock.recv(1, _stdsocket.MSG_PEEK | _stdsocket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # an error waits: the read will raise it
    return True


def no_delay(sock: Any) -> None:
    """Why, behind a link: its slices leave a write at a time, and with Nagle's algorithm each one after
    the first waits for the peer's acknowledgement of the last, which Linux delays by up to 40 ms: on
    loopback that was 40-50 ms a request of more than one slice, a delay no real link of that rate has."""
    with contextlib.suppress(OSError):
        sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)


def _late(e: BaseException) -> bool:
    """A read timeout (plain, or gevent's TLS one)."""
    return isinstance(e, TimeoutError) or (isinstance(e, _stdssl.SSLError) and "timed out" in str(e))


class _Counting:
    """What both counting sockets do: count, carry the bytes over the agent's link (--link: none by
    default, and then no work for it), and read a timed-out read again when the data is there after all.

    Why a timed-out read is looked at again: on a busy worker the event loop may run a socket's timer
    before its readiness, both due in the same iteration, when the data came in time but this process
    did not run. A timeout with bytes waiting in the socket is the generator's own lateness, not the
    server's silence, and must not be counted as the server's failure: the read is made again."""

    counter: WireCounter
    link: Link | None = None
    stamps = False  # the kernel stamps what this socket receives (rxstamp.enable)
    stamp_reads = False  # recv() asks for the stamp (until a first token: rxstamp.arm)
    rx_newest_ns = 0  # the last stamped read's newest packet (Unix ns; 0: none)

    def send(self, data: bytes, flags: int = 0, timeout: Any = timeout_default) -> int:  # gevent's signature
        link = self.link
        if link is None:
            n: int = super().send(data, flags, timeout)  # type: ignore[misc]
            self.counter.sent += n
            return n
        asked = link.before_send(len(data))
        n = super().send(memoryview(data)[:asked], flags, timeout)  # type: ignore[misc]
        self.counter.sent += n
        link.sent(asked, n)
        return n

    def connect(self, address: Any) -> None:  # gevent's signature
        super().connect(address)  # type: ignore[misc]
        if self.link is not None:
            no_delay(self)
            self.link.handshake(1)  # TCP's SYN, SYN-ACK (the request rides on the ACK)

    def _arrived(self, n: int) -> None:
        """``n`` bytes read: the link lets them through at its downlink rate. A stamped read that had
        to wait for it is stamped when it ends (the bytes' modelled arrival)."""
        assert self.link is not None
        if self.link.received(n) and self.stamp_reads:
            self.rx_newest_ns = time.time_ns()

    def _waiting(self) -> bool:
        return data_waiting(self)

    def _read(self, read: Any, *args: Any, **kw: Any) -> Any:
        try:
            return read(*args, **kw)
        except (TimeoutError, _stdssl.SSLError) as e:
            if not _late(e) or not self._waiting():
                raise
            return read(*args, **kw)

    def _recv(self, *args: Any, **kw: Any) -> bytes:
        raise NotImplementedError

    def recv(self, *args: Any, **kw: Any) -> bytes:
        data: bytes = self._read(self._recv, *args, **kw)
        self.counter.received += len(data)
        if self.link is not None:
            self._arrived(len(data))
        return data

    def recv_into(self, *args: Any, **kw: Any) -> int:
        n: int = self._read(super().recv_into, *args, **kw)  # type: ignore[misc]
        self.counter.received += n
        if self.link is not None:
            self._arrived(n)
        return n


class CountingSocket(_Counting, gevent.socket.socket):  # type: ignore[misc]  # gevent ships no types: its classes are Any
    def _recv(self, *args: Any, **kw: Any) -> bytes:
        if self.stamp_reads:
            data, self.rx_newest_ns = rxstamp.stamped_recv(self, args[0])
            return data
        return cast(bytes, gevent.socket.socket.recv(self, *args, **kw))


class CountingSSLSocket(_Counting, gevent.ssl.SSLSocket):  # type: ignore[misc]  # gevent ships no types
    """Over TLS the stamp comes from a peek at the encrypted bytes; decrypted bytes pending count as
    data waiting."""

    def _waiting(self) -> bool:
        return bool(self.pending()) or data_waiting(self)

    def _recv(self, *args: Any, **kw: Any) -> bytes:
        if self.stamp_reads and not self.pending():  # pending: decrypted with the last stamped read
            self.rx_newest_ns = rxstamp.peek_stamp(self)
        return cast(bytes, gevent.ssl.SSLSocket.recv(self, *args, **kw))


class CountingSSLContext(gevent.ssl.SSLContext):  # type: ignore[misc]  # gevent ships no types
    """An SSL context whose sockets count plaintext bytes into ``context.counter``."""

    sslsocket_class = CountingSSLSocket
    counter: WireCounter
    link: Link | None = None

    def wrap_socket(self, *args: Any, **kw: Any) -> CountingSSLSocket:
        """Wraps a connected plain socket (its TCP connect did not go through the link) and completes
        the TLS handshake: with a link, the connect's round trip and TLS's are waited here."""
        sock: CountingSSLSocket = super().wrap_socket(*args, **kw)  # (its sslsocket_class)
        sock.counter = self.counter
        sock.link = self.link
        sock.stamps = rxstamp.enable(sock)
        if self.link is not None:
            no_delay(sock)
            self.link.handshake(1 + TLS_ROUND_TRIPS)
        return sock


def counting_socket(
    counter: WireCounter,
    family: int = _stdsocket.AF_INET,
    type: int = _stdsocket.SOCK_STREAM,
    proto: int = 0,
    link: Link | None = None,
) -> CountingSocket:
    sock = CountingSocket(family, type, proto)
    sock.counter = counter
    sock.link = link
    sock.stamps = rxstamp.enable(sock)
    return sock


def trust(ctx: _stdssl.SSLContext) -> None:
    """What the agents trust: the system's roots and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (OpenSSL's own
    variables: a private CA goes there), plus certifi's roots (the system may have none)."""
    ctx.load_default_certs()
    ctx.load_verify_locations(certifi.where())


def ssl_context(counter: WireCounter, insecure: bool = False, link: Link | None = None) -> CountingSSLContext:
    ctx = CountingSSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)
    trust(ctx)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = gevent.ssl.CERT_NONE
    ctx.counter = counter
    ctx.link = link
    return ctx
