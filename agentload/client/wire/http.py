"""HTTP/1.1 client for the agents: geventhttpclient (Locust's FastHttp stack) on counting sockets.

One ``HttpWire`` per agent holds one keep-alive connection, like one agent process talking to the API.
SSE bodies are read as they arrive, with 64 KB socket reads (Locust's ``iter_lines`` uses 1 KB blocks
and holds back the first events, which would distort time to first token), and split into events by
core.sse's parser (``iter_sse(reply.pieces())``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import gevent.queue
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed

from ...core.deflate import BodyEncoding, StreamDecoder, encode_body
from ...core.protocol import default_port
from . import rxstamp
from .counting import WireCounter, counting_socket, ssl_context
from .link import Link

BLOCK_SIZE = 65536


@dataclass
class HttpReply:
    """A response whose body is still on the socket: ``pieces()`` for SSE, ``read()`` for JSON."""

    status: int
    headers: dict[str, str]
    _resp: Any = field(repr=False)
    counter: WireCounter | None = field(default=None, repr=False)  # counts the body's payload bytes
    _decoder: StreamDecoder | None = field(default=None, repr=False)  # a compressed body's, kept across reads

    def pieces(self) -> Iterator[bytes]:
        """The body as it arrives, a socket read's worth at a time, its Content-Encoding (gzip, zstd)
        undone as each piece comes: the payload bytes count what it decodes to."""
        enc = self.headers.get("content-encoding", "identity")
        decoder = None
        if enc not in ("identity", ""):
            if self._decoder is None:  # (one per body: the rest of it may be read by a later call)
                self._decoder = StreamDecoder(enc)
            decoder = self._decoder
        counter = self.counter
        piece = self._piece
        while data := piece():
            if decoder is not None:
                data = decoder.decompress(data)
                if not data:
                    continue
            if counter is not None:
                counter.payload_received += len(data)
            yield data

    def _piece(self) -> bytes:
        """Whatever of the body has arrived (one socket read when none has), b"" at its end."""
        resp = self._resp
        while not resp._body_buffer:
            if resp.message_complete:
                return b""
            if resp._sock is None:
                raise HTTPConnectionClosed("connection closed.")
            try:
                resp.feed(resp._sock.recv(resp.block_size))
            except BaseException:
                resp.release()
                raise
        out = bytes(resp._body_buffer)
        del resp._body_buffer[:]
        return out

    def read(self) -> bytes:
        body: bytes = self._resp.read()
        enc = self.headers.get("content-encoding", "identity")
        if enc not in ("identity", ""):
            with contextlib.suppress(ValueError):  # an error body that does not decode is read as it came
                body = StreamDecoder(enc).decompress(body)
        if self.counter is not None:
            self.counter.payload_received += len(body)
        return body

    def release(self) -> None:
        self._resp.release()

    @property
    def sock(self) -> Any:
        """The socket the body is read from (to move its timeout from phase to phase)."""
        return self._resp._sock

    def close(self) -> None:
        """Close the connection under a body that will not be read to its end (and give its pool
        slot back; after a read error geventhttpclient has done this already)."""
        resp = self._resp
        pool, sock = getattr(resp, "_pool", None), resp._sock
        resp._sock = None
        if hasattr(resp, "_pool"):
            resp._pool = None
        if sock is not None:
            if pool is not None:
                pool.release_socket(sock)
            else:
                sock.close()


class HttpWire:
    """POSTs JSON to one origin over one kept-alive connection, counting every byte."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        connect_timeout: float = 10.0,
        network_timeout: float = 120.0,
        insecure: bool = False,
        link: Link | None = None,
    ) -> None:
        u = urlsplit(base_url)
        self.counter = WireCounter()
        self.path_prefix = u.path.rstrip("/")
        tls = u.scheme == "https"
        kw: dict[str, Any] = {}
        if tls:

            def factory(*_a: Any, **_kw: Any) -> Any:
                return ssl_context(self.counter, insecure, link)

            kw = {"ssl": True, "ssl_context_factory": factory, "insecure": insecure}
        self.client = HTTPClient(
            u.hostname or "127.0.0.1",
            u.port or default_port(u.scheme),
            headers=headers,
            block_size=BLOCK_SIZE,
            connection_timeout=connect_timeout,
            network_timeout=network_timeout,
            concurrency=1,
            **kw,
        )
        pool = self.client._connection_pool
        if not tls:
            pool._create_tcp_socket = lambda family, socktype, proto: counting_socket(  # type: ignore[method-assign,assignment]
                self.counter, family, socktype, proto, link
            )
        # A kept-alive socket keeps the timeout its last response left on it (the idle one): each
        # request sets its own for the wait to the response head.
        self._head_timeout = network_timeout
        get_socket = pool.get_socket

        def get_socket_with_timeout() -> Any:
            sock = get_socket()
            sock.settimeout(self._head_timeout)
            rxstamp.arm(sock)  # until the first token (transports.consume_stream disarms it)
            return sock

        pool.get_socket = get_socket_with_timeout  # type: ignore[method-assign]

    def post_json(
        self,
        path: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        encoding: BodyEncoding = BodyEncoding.OFF,
    ) -> HttpReply:
        """Sends the request (its body compressed by ``encoding``) and reads the response head, waiting
        at most ``timeout`` per read."""
        h = {"Content-Type": "application/json"}
        if headers:
            h.update(headers)
        if timeout is not None:
            self._head_timeout = timeout
        self.counter.payload_sent += len(body)
        if encoding != BodyEncoding.OFF:
            h["Content-Encoding"] = encoding.value
            body = encode_body(body, encoding)
        resp = self.client.request("POST", self.path_prefix + path, body=body, headers=h)
        return HttpReply(resp.status_code, {k.lower(): v for k, v in resp.items()}, resp, self.counter)

    def drop_idle(self) -> None:
        """Close the kept-alive sockets waiting in the pool (the pool stays usable: the next request
        connects anew). After a failed read geventhttpclient may have put a socket back mid-body."""
        queue = self.client._connection_pool._socket_queue
        while not queue.empty():
            try:
                sock = queue.get(block=False)
            except gevent.queue.Empty:
                break
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self.client.close()
