"""One WebSocket shared by several conversations, a ``stream_id`` lane each (the ws-mux strategy).

OpenAI's WebSocket mode multiplexes: requests that name the same ``stream_id`` run first in, first
out, different lanes run at once, and every event of a lane's response echoes its ``stream_id``. An
agent and its subagents then hold one connection instead of one each. Here the connection has one
reader (a greenlet) that hands each message to the lane it names; a lane's exchange sends its request
(sends are serialized: frames must not interleave) and reads its own events from its queue. A
message that names no lane is the connection's (an error such as the connection's lifetime ending):
every lane waiting gets it. When the connection fails, every lane waiting gets the failure; the next
exchange opens a new connection.

Lane names are reused: a lane that finished cleanly goes back to the pool (the server limits the
named lanes of a connection, 32 at OpenAI), one whose response may still be streaming (a turn that timed
out, a task stopped mid-turn) is retired until that response ends (its terminal event arrives, read by
its type alone) or the connection does.
"""

from __future__ import annotations

import itertools
from typing import Any

import gevent
import gevent.lock
import gevent.queue
from gevent import GreenletExit

from ...core.deflate import DeflateParams
from ...core.protocol import COMPLETED_EVENTS, ERROR_EVENT, FAILED_EVENTS
from .counting import WireCounter
from .link import Link
from .websocket import WsConnection

_STREAM_KEY = b'"stream_id":"'
_TERMINAL = frozenset({*COMPLETED_EVENTS, *FAILED_EVENTS, ERROR_EVENT})
_TYPE_PREFIX = b'{"type":"'


def stream_of(raw: bytes) -> str | None:
    """The lane a message names: its ``stream_id``, read without decoding the JSON (the mock and OpenAI
    put it last; a string search finds it anywhere), or None."""
    at = raw.rfind(_STREAM_KEY)
    if at < 0:
        return None
    start = at + len(_STREAM_KEY)
    end = raw.find(b'"', start)
    return raw[start:end].decode() if end > 0 else None


def _terminal(raw: bytes) -> bool:
    """An event that ends a response (completed, failed, incomplete, an error), by its leading type."""
    if not raw.startswith(_TYPE_PREFIX):
        return False
    end = raw.find(b'"', len(_TYPE_PREFIX))
    return end > 0 and raw[len(_TYPE_PREFIX) : end].decode() in _TERMINAL


class Lanes:
    """A WebSocket and the lanes on it: opened on first use, and again after a loss."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        connect_timeout: float,
        link: Link | None = None,
        deflate: DeflateParams | None = None,
    ) -> None:
        self.url = url
        self.headers = headers
        self.connect_timeout = connect_timeout
        self.link = link
        self.deflate = deflate
        self.counter = WireCounter()  # the connection's own totals (each lane counts its share too)
        self.conn: WsConnection | None = None
        self.connects = 0
        self.peak_lanes = 0  # the most lanes in use at once
        self._in_use = 0
        self._reader: gevent.Greenlet | None = None
        self._waiting: dict[str, gevent.queue.Queue[Any]] = {}  # lanes with a response under way
        self._send = gevent.lock.Semaphore()
        self._open = gevent.lock.Semaphore()
        self._names = itertools.count()
        self._free: list[str] = []
        self._retired: set[str] = set()  # names whose last response may still be streaming

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.connected

    @property
    def handshake_bytes(self) -> tuple[int, int]:
        return self.conn.handshake_bytes if self.conn is not None else (0, 0)

    @property
    def handshake_headers(self) -> dict[str, str]:
        return self.conn.handshake_headers if self.conn is not None else {}

    # ------------------------------------------------------------------------------------ lanes
    def take(self) -> str:
        """A lane's name: a free one, else a new one."""
        self._in_use += 1
        self.peak_lanes = max(self.peak_lanes, self._in_use)
        return self._free.pop() if self._free else f"lane{next(self._names)}"

    def give_back(self, name: str, clean: bool = True) -> None:
        """A lane no longer in use; ``clean``: no response of its is still streaming (else retired)."""
        self._in_use -= 1
        if clean:
            self._free.append(name)

    def retire(self, name: str) -> str:
        """Another name for a lane whose last response may still be streaming (its events go nowhere;
        the name is free again once that response ends)."""
        self.give_back(name, clean=False)
        self._retired.add(name)
        return self.take()

    # ------------------------------------------------------------------------------------ the wire
    def connect(self) -> bool:
        """Opens the connection unless it is open; True if this call opened it. Raises what the
        connection raises (a refused upgrade: WsHandshakeError)."""
        with self._open:
            if self.connected:
                return False
            conn = WsConnection(
                self.url,
                self.headers,
                self.counter,
                connect_timeout=self.connect_timeout,
                network_timeout=self.connect_timeout,
                link=self.link,
                deflate=self.deflate,
            )
            self.connects += 1
            self._free += sorted(self._retired)  # (a new connection has no response streaming)
            self._retired.clear()
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(None)  # (the reader waits as long as the connection lives)
            self.conn = conn
            self._reader = gevent.spawn(self._read, conn)
            return True

    def listen(self, name: str) -> gevent.queue.Queue[Any]:
        """The queue a lane's next response arrives in (its events, or the failure that ended them)."""
        queue: gevent.queue.Queue[Any] = gevent.queue.Queue()
        self._waiting[name] = queue
        return queue

    def done(self, name: str) -> None:
        self._waiting.pop(name, None)

    def send(self, payload: bytes) -> int:
        """One message, whole (frames of different lanes never interleave); its wire bytes."""
        conn = self.conn
        if conn is None or not conn.connected:
            raise ConnectionResetError("the WebSocket closed")
        with self._send:
            before = self.counter.sent
            conn.send_text(payload)
            return self.counter.sent - before

    def _read(self, conn: WsConnection) -> None:
        try:
            while True:
                raw = conn.recv_message()
                name = stream_of(raw)
                if name is None:  # the connection's own (an error for all): every waiting lane's
                    for queue in list(self._waiting.values()):
                        queue.put(raw)
                    continue
                queue = self._waiting.get(name)
                if queue is not None:
                    queue.put(raw)
                elif name in self._retired and _terminal(raw):  # its last response ended: free again
                    self._retired.discard(name)
                    self._free.append(name)
        except GreenletExit:
            raise
        except (OSError, ValueError) as e:  # closed, reset, or not RFC 6455: every waiting lane fails
            if self.conn is conn:
                self.conn = None
            conn.close_socket()
            for queue in list(self._waiting.values()):
                queue.put(e)

    def reset(self) -> None:
        """Drop the connection (the next exchange reconnects); lanes still waiting fail at once."""
        self._stop_reader()
        if self.conn is not None:
            self.conn.close_socket()
            self.conn = None
        self._fail_waiting()

    def close(self) -> None:
        """End the connection cleanly (a close frame)."""
        self._stop_reader()
        if self.conn is not None:
            with self._send:
                self.conn.close()
            self.conn = None
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        for queue in list(self._waiting.values()):
            queue.put(ConnectionResetError("the WebSocket was closed under this lane"))

    def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not gevent.getcurrent():
            reader.kill(block=False)
