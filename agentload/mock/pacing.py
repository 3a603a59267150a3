"""Sends a generation's events at their modelled times, batching the ones already due.

Batching matters at zero latency (hundreds of events are due at once: one write instead of hundreds)
and costs nothing at realistic pacing (each event goes out when its time comes, to ~1 ms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

MAX_BATCH = 128
Event = dict[str, Any]


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
) -> None:
    """Send every event at ``start + offset`` (event-loop time), in order."""
    loop = asyncio.get_running_loop()
    batch: list[Event] = []
    for offset, event in events:
        due = start + offset
        if due > loop.time():
            if batch:
                await send(batch)
                batch = []
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        if stamp is not None:
            stamp(event)
        batch.append(event)
        if len(batch) >= MAX_BATCH:
            await send(batch)
            batch = []
    if batch:
        await send(batch)
