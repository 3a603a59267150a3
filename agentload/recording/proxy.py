"""The recording proxy: a real agent points at it, it forwards every byte to the upstream unchanged
(the Host header aside), and reads a copy of each model request and its reply into an Exchange.

Raw relaying, not re-serving: the client and the upstream agree on keep-alive, chunking, Content-Encoding
and permessage-deflate between themselves, so the bytes counted here are the ones the client sent and
got. A request or reply the recorder cannot read is still forwarded; its bytes are kept under
``raw/`` with a one-line warning. Errors from the upstream reach the client as the upstream sent them.
Only bodies are kept raw, never heads: heads carry the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import certifi

from ..core.deflate import DeflateParams, MessageInflate, StreamDecoder, parse_answer
from ..core.protocol import API_PATH, default_port
from ..core.sse import SseParser
from ..core.websocket import OP_TEXT, WsCodec
from .exchange import ChatEvents, Exchange, ResponsesEvents
from .http1 import MAX_HEAD, Head, NotHttp, read_head, relay_body

log = logging.getLogger("agentload.record")
MODEL_PATHS = ("/responses", "/chat/completions")


@dataclass(frozen=True)
class Upstream:
    scheme: str
    host: str
    port: int
    base: str  # the upstream's API path, as --host reads it: the URL's path, or /v1 when it has none

    @classmethod
    def parse(cls, url: str) -> Upstream:
        u = urlsplit(url.rstrip("/"))
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"--upstream {url!r}: give http(s)://HOST[:PORT], e.g. https://api.openai.com")
        return cls(u.scheme, u.hostname, u.port or default_port(u.scheme), u.path or API_PATH)

    @property
    def netloc(self) -> str:
        default = default_port(self.scheme)
        return self.host if self.port == default else f"{self.host}:{self.port}"

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        ctx = None
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=certifi.where())
        return await asyncio.open_connection(
            self.host, self.port, ssl=ctx, server_hostname=self.host if ctx else None, limit=MAX_HEAD
        )


OnExchange = Callable[[Exchange], None]


class _Pipes(NamedTuple):
    """A client connection's streams and its upstream connection's."""

    client_reader: asyncio.StreamReader
    client_writer: asyncio.StreamWriter
    upstream_reader: asyncio.StreamReader
    upstream_writer: asyncio.StreamWriter


class RecordingProxy:
    """Serves one listening socket; ``on_exchange`` gets every model exchange once it has ended."""

    def __init__(self, upstream: Upstream, raw_dir: Path, on_exchange: OnExchange) -> None:
        self.upstream = upstream
        self.raw_dir = raw_dir
        self.on_exchange = on_exchange
        self._conns = itertools.count(1)
        self._raw = itertools.count(1)
        self.unparsed = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, host: str, port: int) -> asyncio.Server:
        async def on_client(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await self._client(r, w)
            except asyncio.CancelledError:
                pass  # the recorder stops: what was in flight was recorded as cut off
            finally:
                self._tasks.discard(task)

        return await asyncio.start_server(on_client, host, port, limit=MAX_HEAD)

    async def close(self) -> None:
        """Ends every connection still open (their exchanges end as interrupted)."""
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------------ one client connection
    async def _client(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        conn = next(self._conns)
        self.connections += 1
        up: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head = await read_head(cr)
                except NotHttp as e:
                    self._warn(f"connection {conn}: {e}; closed")
                    return
                if head is None:
                    return
                if up is None or up[1].is_closing() or up[0].at_eof():  # (an upstream may close an idle one)
                    try:
                        up = await self.upstream.open()
                    except OSError as e:
                        self._warn(f"upstream {self.upstream.netloc} unreachable: {e.strerror or e}")
                        await _bad_gateway(cw, str(e.strerror or e))
                        return
                pipes = _Pipes(cr, cw, *up)
                if head.get("upgrade").lower() == "websocket":
                    await self._websocket(conn, head, pipes)
                    return
                keep = await self._http(conn, head, pipes)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, NotHttp) as e:
            log.debug("connection %d ended: %r", conn, e)
        finally:
            for w in (cw, up[1] if up else None):
                if w is not None:
                    w.close()
                    with contextlib.suppress(Exception):
                        await w.wait_closed()

    def _forwarded(self, head: Head) -> bytes:
        target = head.target
        if target == API_PATH or target.startswith((API_PATH + "/", API_PATH + "?")):
            target = self.upstream.base + target[len(API_PATH) :]  # a client's /v1/... at the upstream's base
        method, _, rest = head.start_line.partition(" ")
        fwd = Head(f"{method} {target} {rest.rpartition(' ')[2]}", list(head.headers), head.raw_size)
        fwd.set("host", self.upstream.netloc)
        return fwd.encode()

    def _is_model(self, head: Head) -> bool:
        path = head.target.split("?", 1)[0].rstrip("/")
        return path.endswith(MODEL_PATHS)

    async def _http(self, conn: int, head: Head, pipes: _Pipes) -> bool:
        """One request and its response; False when the connection ends with it."""
        cr, cw, ur, uw = pipes
        model = head.method == "POST" and self._is_model(head)
        ex = Exchange(conn, "http", head.target.split("?", 1)[0], time.time(), client=_product(head))
        body = bytearray()
        uw.write(self._forwarded(head))
        sent = await relay_body(cr, uw, head, body.extend if model else _ignore)
        ex.bytes_sent = head.raw_size + sent
        if model:
            ex.compression = (head.get("content-encoding") or "off").lower()
            try:
                ex.take_request(StreamDecoder(ex.compression).decompress(bytes(body)))
            except ValueError as e:
                ex.unparsed = f"request body: {e}"
                ex.payload_sent = len(body)
        rhead = await read_head(ur)
        while rhead is not None and 100 <= rhead.status < 200:  # interim answers (100 Continue) pass on
            cw.write(rhead.encode())
            rhead = await read_head(ur)
        if rhead is None:
            await _bad_gateway(cw, "the upstream closed the connection without a response")
            return False
        cw.write(rhead.encode())
        ex.status = rhead.status
        reader = _ReplyReader(ex, rhead) if model else None
        counted = _CountingWriter(cw)
        try:
            await relay_body(ur, counted, rhead, reader.feed if reader else _ignore, response_to=head.method)  # type: ignore[arg-type]
        except (ConnectionError, asyncio.IncompleteReadError):
            # a client may close once it has the terminal event: the exchange is still recorded
            if reader is None:
                raise
            rhead.set("connection", "close")
        finally:
            ex.bytes_received = rhead.raw_size + counted.n
            if reader is not None:
                reader.finish()
                if ex.status >= 400 and ex.error is None:
                    ex.error = f"http_{ex.status}"
                ex.end()
                self._done(ex, raw=(bytes(body), bytes(reader.raw)))
        framed = rhead.get("content-length") or "chunked" in rhead.get("transfer-encoding").lower()
        return bool(framed) and not (head.wants_close() or rhead.wants_close())

    async def _websocket(self, conn: int, head: Head, pipes: _Pipes) -> None:
        """The upgrade, then both directions relayed until either side ends; every ``response.create``
        begins an exchange that owns the bytes until the next one."""
        cr, cw, ur, uw = pipes
        uw.write(self._forwarded(head))
        await uw.drain()
        rhead = await read_head(ur)
        if rhead is None:
            await _bad_gateway(cw, "the upstream closed the connection during the upgrade")
            return
        cw.write(rhead.encode())
        if rhead.status != 101:  # refused: the upstream's answer, body and all, reaches the client
            await relay_body(ur, cw, rhead, _ignore, response_to="GET")
            await cw.drain()
            return
        await cw.drain()
        agreed = None
        with contextlib.suppress(ValueError):
            agreed = parse_answer(rhead.get("sec-websocket-extensions"), DeflateParams())
        up_in = MessageInflate(15, agreed.client_no_context_takeover) if agreed else None
        down_in = MessageInflate(15, agreed.server_no_context_takeover) if agreed else None
        ws = _WsChain(
            self, conn, _product(head), "deflate" if agreed else "off", head.raw_size, rhead.raw_size
        )
        # each direction read passively: the codec's receiving side, with that direction's inflate state
        up = asyncio.create_task(self._pump(cr, uw, WsCodec(client=False, inflate=up_in), ws.from_client))
        down = asyncio.create_task(self._pump(ur, cw, WsCodec(client=True, inflate=down_in), ws.from_server))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (up, down):
                t.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            ws.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        frames: WsCodec,
        on_message: Callable[[int, bytes, int], None],
    ) -> None:
        """Relays one direction; ``on_message`` gets each message of it (control frames included) with
        the wire bytes it took."""
        readable = True
        while data := await reader.read(65536):
            writer.write(data)
            if readable:
                try:
                    frames.receive_data(data)
                    for opcode, payload, wire in frames.events():
                        on_message(opcode, payload, wire)
                except ValueError as e:
                    readable = False
                    self._warn(f"a WebSocket stream the recorder cannot read ({e}); still forwarded")
            await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()

    # ------------------------------------------------------------------------------- exchanges end
    def _done(self, ex: Exchange, raw: tuple[bytes, bytes] | None = None) -> None:
        if ex.unparsed is not None:
            self.unparsed += 1
            where = self._keep_raw(ex, raw)
            self._warn(f"connection {ex.conn}: {ex.unparsed}; forwarded unchanged, kept raw in {where}")
        self.on_exchange(ex)

    def _keep_raw(self, ex: Exchange, raw: tuple[bytes, bytes] | None) -> Path:
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        n = next(self._raw)
        path = self.raw_dir / f"{ex.conn:04d}-{n:04d}"
        request, reply = raw or (b"", b"")
        path.with_suffix(".request").write_bytes(request)
        path.with_suffix(".reply").write_bytes(reply)
        return path.with_suffix(".*")

    def _warn(self, message: str) -> None:
        log.warning("agentload record: %s", message)


class _ReplyReader:
    """A model reply's bytes as they pass: decoded, split into events, observed; the raw copy kept
    until the exchange ends (for raw/ when it cannot be read)."""

    def __init__(self, ex: Exchange, head: Head) -> None:
        self.ex = ex
        self.raw = bytearray()  # (grown piece by piece: a stream's replies come in many small writes)
        self.stream = "text/event-stream" in head.get("content-type")
        self.events = ChatEvents(ex) if ex.api == "chat" else ResponsesEvents(ex)
        self.sse = SseParser()
        self.body = bytearray()
        try:
            self.decoder: StreamDecoder | None = StreamDecoder(head.get("content-encoding"))
        except ValueError as e:
            self.decoder = None
            ex.unparsed = f"reply: {e}"

    def feed(self, data: bytes) -> None:
        self.raw += data
        if self.decoder is None or self.ex.unparsed is not None:
            return
        try:
            plain = self.decoder.decompress(data)
        except ValueError as e:
            self.ex.unparsed = f"reply: {e}"
            return
        self.ex.payload_received += len(plain)
        if not self.stream:
            self.body += plain
            return
        for _, payload in self.sse.feed(plain):
            if payload.strip() == b"[DONE]":
                continue
            if self.ex.first_token_at is not None and _is_delta(payload):
                self.ex.events += 1  # (a delta after the first token tells the recorder nothing more)
                continue
            try:
                self.events.event(json.loads(payload))
            except ValueError:
                self.ex.unparsed = "reply: an event that is not JSON"
                return

    def finish(self) -> None:
        if self.ex.unparsed is not None:
            return
        if not self.stream:
            try:
                self.events.body(json.loads(self.body) if self.body else {})
            except ValueError:
                self.ex.unparsed = "reply: the body is not JSON"
        elif isinstance(self.events, ChatEvents):
            self.events.done()
        if self.ex.unparsed is None:
            self.raw = bytearray()


class _WsChain:
    """One WebSocket connection's exchanges, in order: each ``response.create`` starts one, which owns
    the client's bytes up to and including its frame (the handshake goes to the first) and the server's
    bytes until its reply ends."""

    def __init__(
        self, proxy: RecordingProxy, conn: int, client: str, compression: str, hs_sent: int, hs_recv: int
    ) -> None:
        self.proxy = proxy
        self.conn = conn
        self.client = client
        self.compression = compression
        self.pending_sent = hs_sent
        self.pending_recv = hs_recv
        self.current: Exchange | None = None
        self.events: ResponsesEvents | None = None

    def from_client(self, opcode: int, payload: bytes, wire: int) -> None:
        self.pending_sent += wire
        if opcode != OP_TEXT:
            return
        ex = Exchange(
            self.conn, "ws", "/v1/responses", time.time(), client=self.client, compression=self.compression
        )
        ex.take_request(payload)
        if ex.request is not None and ex.request.get("type") != "response.create":
            return  # another client event: its bytes go to the next exchange
        self._finish(interrupted=True)
        ex.bytes_sent, self.pending_sent = self.pending_sent, 0
        if ex.request is not None:
            ex.request = {k: v for k, v in ex.request.items() if k != "type"}
        self.current, self.events = ex, ResponsesEvents(ex)
        if ex.unparsed is not None:
            self._end(ex, raw=(payload, b""))

    def from_server(self, opcode: int, payload: bytes, wire: int) -> None:
        self.pending_recv += wire
        ex, events = self.current, self.events
        if ex is None or events is None or opcode != OP_TEXT:
            return
        ex.payload_received += len(payload)
        if ex.first_token_at is not None and _is_delta(payload):
            ex.events += 1  # (a delta after the first token tells the recorder nothing more)
            return
        try:
            obj = json.loads(payload)
        except ValueError:
            ex.unparsed = "reply: a WebSocket message that is not JSON"
            self._end(ex, raw=(b"", payload))
            return
        if events.event(obj):
            self._end(ex)

    def _end(self, ex: Exchange, raw: tuple[bytes, bytes] | None = None) -> None:
        ex.bytes_received, self.pending_recv = self.pending_recv, 0
        ex.end()
        self.current = self.events = None
        self.proxy._done(ex, raw)

    def _finish(self, interrupted: bool) -> None:
        if self.current is not None:
            if interrupted and not self.current.complete:
                self.current.error = self.current.error or "interrupted"
            self._end(self.current)

    def close(self) -> None:
        self._finish(interrupted=True)


def _is_delta(payload: bytes) -> bool:
    """A Responses stream delta, told from its first bytes (agentload's mock and OpenAI both put
    ``type`` first; a body that does not is parsed whole). The final response carries every item the
    deltas built, so the recorder needs none past the first. (Chat chunks are all read: a chat reply's
    calls exist only as their deltas.)"""
    head = payload[:80]
    return head.startswith(b'{"type":"response.') and b'.delta"' in head


def _product(head: Head) -> str:
    """The client's first product token (``codex_exec/0.171.0``, ``OpenAI/Python 3.51.0``)."""
    ua = head.get("user-agent")
    return ua.split(" (", 1)[0].split(" ", 1)[0][:64] if ua else ""


class _CountingWriter:
    """The client's writer, counting what is written to it: a reply cut short still has its size."""

    def __init__(self, w: asyncio.StreamWriter) -> None:
        self.w = w
        self.n = 0

    def write(self, data: bytes) -> None:
        self.n += len(data)
        self.w.write(data)

    async def drain(self) -> None:
        await self.w.drain()


def _ignore(_data: bytes) -> None:
    return None


async def _bad_gateway(w: asyncio.StreamWriter, why: str) -> None:
    body = json.dumps(
        {"error": {"message": f"agentload record: {why}", "type": "bad_gateway", "param": None, "code": None}}
    ).encode()
    w.write(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await w.drain()
