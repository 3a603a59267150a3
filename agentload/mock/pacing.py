"""Sends a generation's events at their modelled times, batching the ones already due.

Batching matters at zero latency (hundreds of events are due at once: one write instead of hundreds)
and costs nothing at realistic pacing (each event goes out when its time comes, to ~1 ms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..stream import DELTA_EVENTS

MAX_BATCH = 128
Event = dict[str, Any]
ARRIVED = "arrived"  # the request's key for when its whole body had reached the mock (event-loop time)


def arrived_at(request: Any) -> float:
    """Where a response's modelled TTFT starts: when its request's last byte reached the mock, as a
    real server can start no sooner (a slow uplink still costs its time on top). Parsing the body
    (~1 ms for a 100 KB stateless context) and the rest of the mock's handling then fall inside the
    TTFT instead of on top of the one the client measures."""
    arrived = request.get(ARRIVED)
    return arrived if arrived is not None else asyncio.get_running_loop().time()


def is_token(event: Event) -> bool:
    """A Responses API event that carries output (what TTFT waits for, on either side)."""
    return event.get("type") in DELTA_EVENTS


def is_chat_token(chunk: Event) -> bool:
    """A Chat Completions chunk that carries output: text, or a piece of a tool call's arguments
    (as the agents' ChatConsumer counts it; the role chunk and a call's empty head do not)."""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content"):
            return True
        for call in delta.get("tool_calls") or ():
            if (call.get("function") or {}).get("arguments"):
                return True
    return False


def sequencer(extra: dict[str, Any] | None = None) -> Callable[[Event], None]:
    """Stamps Responses API events with ``sequence_number`` (and e.g. the lane's ``stream_id``)."""
    counter = iter(range(1 << 62))

    def stamp(event: Event) -> None:
        event["sequence_number"] = next(counter)
        if extra:
            event.update(extra)

    return stamp


async def pace(
    events: Iterable[tuple[float, Event]],
    send: Callable[[list[Event]], Awaitable[None]],
    start: float,
    stamp: Callable[[Event], None] | None = None,
    is_token: Callable[[Event], bool] | None = None,
) -> float | None:
    """Send every event at ``start + offset`` (event-loop time), in order. Returns when the first
    event that ``is_token`` was handed to the transport (the mock's own, actual TTFT), if asked."""
    loop = asyncio.get_running_loop()
    batch: list[Event] = []
    first_token: float | None = None
    token_in_batch = False

    async def flush() -> None:
        nonlocal batch, first_token, token_in_batch
        await send(batch)
        batch = []
        if token_in_batch:
            first_token, token_in_batch = loop.time(), False

    for offset, event in events:
        due = start + offset
        if due > loop.time():
            if batch:
                await flush()
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        if stamp is not None:
            stamp(event)
        batch.append(event)
        if is_token is not None and first_token is None and not token_in_batch and is_token(event):
            token_in_batch = True
        if len(batch) >= MAX_BATCH:
            await flush()
    if batch:
        await flush()
    return first_token
