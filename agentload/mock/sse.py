"""The HTTP side of streaming (Responses and Chat Completions over SSE): the faults an HTTP response
meets before its head, the streamed body, and what a cut does to the connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from ..core.deflate import BodyEncoding, StreamEncoder, accepted_encoding
from .faults import STATUS_FAULTS, Fault, first_of
from .state import CONFIG, FAULTS
from .streaming import Framing, Timed, stream

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


def reply_encoding(request: web.Request) -> BodyEncoding:
    """The encoding a model reply takes: what the client's Accept-Encoding asks (gzip or zstd), unless
    the mock was started with --response-compression off."""
    if not request.app[CONFIG].response_compression:
        return BodyEncoding.OFF
    return accepted_encoding(request.headers.get("Accept-Encoding", ""))


class SseReply:
    """A streamed reply: its head sent, then each write framed as it goes (compressed and flushed per
    write when the client asked for it, so no event waits in the compressor)."""

    def __init__(self, request: web.Request, headers: dict[str, str]) -> None:
        enc = reply_encoding(request)
        self.encoder = StreamEncoder(enc) if enc != BodyEncoding.OFF else None
        extra = {"Content-Encoding": enc.value} if self.encoder is not None else {}
        self.resp = web.StreamResponse(headers={**headers, **SSE_HEADERS, **extra})

    async def prepare(self, request: web.Request) -> None:
        await self.resp.prepare(request)

    async def write(self, data: bytes) -> None:
        await self.resp.write(self.encoder.compress(data) if self.encoder is not None else data)

    async def write_eof(self) -> None:
        if self.encoder is not None:
            await self.resp.write(self.encoder.finish())
            self.encoder = None
        await self.resp.write_eof()


async def http_faults(request: web.Request, endpoint: str) -> list[Fault]:
    """The faults drawn for this HTTP response. A 5xx is raised here (before any work, as a failing
    upstream answers), and a slow first byte is waited out here (before the response head)."""
    injector = request.app[FAULTS]
    if not injector.config.enabled:
        return []
    faults = injector.draw(endpoint)
    status = first_of(faults, STATUS_FAULTS)
    if status is not None:
        raise status.error()
    if first_of(faults, ("slow_first_byte",)) is not None:
        await asyncio.sleep(injector.config.slow_s)
    return [f for f in faults if f.name != "slow_first_byte"]


async def stream_body(
    request: web.Request,
    resp: SseReply,
    events: Iterable[Timed],
    framing: Framing,
    start: float,
    faults: list[Fault],
    stamp: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[float | None, bool]:
    """Streams the events as the response's body. Returns (first token time, whether it was cut); a
    cut has ended the response already (the connection dropped, or the body ended early)."""
    first, cut = await stream(
        events,
        framing,
        resp.write,
        start,
        faults=faults,
        fault_config=request.app[FAULTS].config,
        stamp=stamp,
    )
    if cut == "drop":
        if request.transport is not None:  # (None: the client went away first; nothing left to drop)
            request.transport.abort()
        raise ConnectionResetError("fault injected: drop")
    if cut:  # truncated: the body ends cleanly without the terminal event
        await resp.write_eof()
    return first, cut is not None
