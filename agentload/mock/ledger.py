"""Exact server-side byte counters, taken on the TCP transport under aiohttp.

Every byte aiohttp reads or writes passes through ``CountingProtocol``/``CountingTransport``, so the
counts include HTTP request lines and headers, chunked-encoding framing, the WebSocket handshake and
every frame header and mask. A connection's bytes are split into *exchanges*: an exchange starts when
the server has read a whole request (an HTTP body, or a WebSocket ``response.create`` frame) and owns
the bytes received since the previous exchange started and the bytes sent until the next one starts.
Clients that do not pipeline (HTTP/1.1 keep-alive, one WebSocket response at a time) therefore get a
per-request count equal to what crossed the wire for that request. With concurrent WebSocket lanes
the connection totals stay exact; the per-exchange split is by arrival order.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..core.protocol import CONTROL_PREFIX


@dataclass
class Exchange:
    conn_id: int
    kind: str  # "http", "ws-handshake", "ws-message"
    path: str
    rx_start: int  # connection rx counter when the previous exchange began
    rx_mark: int  # connection rx counter when this exchange's request was fully read
    tx_mark: int  # connection tx counter at the same moment
    tx_end: int | None = None  # tx counter when the next exchange began (None: still open)
    response_id: str | None = None
    ttft_ms: float | None = None  # the mock's actual TTFT: request arrived -> first token written
    first_token_at: float | None = None  # when the first token was written (Unix time)

    def first_token(self, first: float, start: float) -> None:
        """The first token went out at ``first`` (event-loop time) for a request taken up at ``start``.
        Its wall-clock time is kept too: a client on this machine compares it with its own."""
        self.ttft_ms = (first - start) * 1000.0
        self.first_token_at = time.time() - (asyncio.get_running_loop().time() - first)

    def as_dict(self, conn: ConnectionBytes) -> dict[str, Any]:
        tx_end = self.tx_end if self.tx_end is not None else conn.tx
        return {
            "connection": self.conn_id,
            "kind": self.kind,
            "path": self.path,
            "response_id": self.response_id,
            "ttft_ms": self.ttft_ms,
            "first_token_at": self.first_token_at,
            "received": self.rx_mark - self.rx_start,
            "sent": tx_end - self.tx_mark,
        }


@dataclass
class ConnectionBytes:
    id: int
    peer: str
    rx: int = 0
    tx: int = 0
    closed: bool = False
    internal: bool = False  # carried a /_agentload request: excluded from the totals
    last: Exchange | None = None
    exchanges: int = 0

    def mark(self, ledger: ByteLedger, kind: str, path: str, frame: int = 0) -> Exchange:
        """Start an exchange now: the request just read owns the rx bytes since the last mark.

        ``frame``: this request's exact wire size, where it is known (a WebSocket close frame). A
        close sent right after a message can arrive in the same read as it, and so be counted into
        the message's exchange; those bytes move here."""
        prev = self.last
        if prev is not None:
            prev.tx_end = self.tx
            owed = frame - (self.rx - prev.rx_mark)
            if owed > 0:
                prev.rx_mark -= min(owed, prev.rx_mark - prev.rx_start)
        ex = Exchange(self.id, kind, path, prev.rx_mark if prev else 0, self.rx, self.tx)
        self.last = ex
        self.exchanges += 1
        if path.startswith(CONTROL_PREFIX):
            self.internal = True
        else:
            ledger.record(ex)
        return ex


_TOTAL_KEYS = ("received", "sent", "connections", "exchanges")


@dataclass
class ByteLedger:
    """All connections' counters. Bounded: the newest ``max_exchanges`` exchanges are kept in detail,
    the totals cover everything since the last reset."""

    max_exchanges: int = 100_000
    max_closed: int = 10_000  # closed connections kept in detail; older ones live on in ``forgotten``
    forgotten: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_TOTAL_KEYS, 0))
    connections: dict[int, ConnectionBytes] = field(default_factory=dict)
    exchanges: deque[Exchange] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _kept: int = 0  # connections the last prune had to keep (open, or with exchanges still listed)

    def open(self, peer: str) -> ConnectionBytes:
        conn = ConnectionBytes(next(self._ids), peer)
        self.connections[conn.id] = conn
        # Prune when the map has grown 2 x max_closed past what the last prune had to keep: pruning is
        # a scan of every connection, and with 10,000 open sockets a fixed threshold rescanned on
        # every new connection.
        if len(self.connections) > 2 * self.max_closed + self._kept:
            self.forget_closed(self.max_closed)
            self._kept = max(0, len(self.connections) - self.max_closed)
        return conn

    def record(self, ex: Exchange) -> None:
        self.exchanges.append(ex)
        while len(self.exchanges) > self.max_exchanges:
            self.exchanges.popleft()

    def reset(self) -> None:
        """Forget closed connections and all exchanges; open connections start again from zero."""
        self.exchanges.clear()
        self.forgotten = dict.fromkeys(_TOTAL_KEYS, 0)
        for cid in [c.id for c in self.connections.values() if c.closed]:
            del self.connections[cid]
        for c in self.connections.values():
            c.rx = c.tx = 0
            c.last = None
            c.exchanges = 0

    def snapshot(self, with_exchanges: bool = True) -> dict[str, Any]:
        conns = [c for c in self.connections.values() if not c.internal]
        f = self.forgotten  # pruned closed connections (forget_closed) still count
        out: dict[str, Any] = {
            "totals": {
                "received": f["received"] + sum(c.rx for c in conns),
                "sent": f["sent"] + sum(c.tx for c in conns),
                "connections": f["connections"] + len(conns),
                "exchanges": f["exchanges"] + sum(c.exchanges for c in conns),
                "open": sum(1 for c in conns if not c.closed),
            },
            "connections": [
                {"id": c.id, "received": c.rx, "sent": c.tx, "closed": c.closed, "exchanges": c.exchanges}
                for c in conns
            ],
        }
        if with_exchanges:
            out["exchanges"] = [
                ex.as_dict(self.connections[ex.conn_id])
                for ex in self.exchanges
                if ex.conn_id in self.connections
            ]
        return out

    def forget_closed(self, keep: int) -> None:
        """Drop the oldest closed connections beyond ``keep`` whose exchanges have rotated out; their
        bytes stay in the totals."""
        closed = [c for c in self.connections.values() if c.closed]
        live_ex = {ex.conn_id for ex in self.exchanges}
        for c in closed[: max(0, len(closed) - keep)]:
            if c.id in live_ex:
                continue
            if not c.internal:
                f = self.forgotten
                f["received"] += c.rx
                f["sent"] += c.tx
                f["connections"] += 1
                f["exchanges"] += c.exchanges
            del self.connections[c.id]


class CountingTransport:
    """Wraps the asyncio transport handed to aiohttp; counts every byte written."""

    __slots__ = ("_t", "conn")

    def __init__(self, transport: asyncio.Transport, conn: ConnectionBytes) -> None:
        self._t = transport
        self.conn = conn

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.conn.tx += len(data)
        self._t.write(data)

    def writelines(self, chunks: Any) -> None:
        chunks = list(chunks)
        self.conn.tx += sum(len(c) for c in chunks)
        self._t.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)


class CountingProtocol(asyncio.Protocol):
    """Sits between asyncio and aiohttp's RequestHandler; counts every byte received."""

    def __init__(self, inner: asyncio.Protocol, ledger: ByteLedger) -> None:
        self.inner = inner
        self.ledger = ledger
        self.conn: ConnectionBytes | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.conn = self.ledger.open(f"{peer[0]}:{peer[1]}" if peer else "?")
        self.inner.connection_made(CountingTransport(transport, self.conn))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        assert self.conn is not None
        self.conn.rx += len(data)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.conn.closed = True
            if self.conn.last is not None and self.conn.last.tx_end is None:
                self.conn.last.tx_end = self.conn.tx
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def connection_of(request: Any) -> ConnectionBytes | None:
    """The byte counters of the connection a request arrived on."""
    transport = request.transport
    return transport.conn if isinstance(transport, CountingTransport) else None
