"""The HTTP side of streaming (Responses and Chat Completions over SSE): the faults an HTTP response
meets before its head, the streamed body, and what a cut does to the connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from .faults import STATUS_FAULTS, Fault, first_of
from .state import FAULTS
from .streaming import Framing, Timed, stream

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


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
    resp: web.StreamResponse,
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
        request.transport.abort()  # type: ignore[union-attr]
        raise ConnectionResetError("fault injected: drop")
    if cut:  # truncated: the body ends cleanly without the terminal event
        await resp.write_eof()
    return first, cut is not None
