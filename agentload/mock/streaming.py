"""The mock's one streaming path: a generation's timed events, paced, faulted, framed and written.

Responses over SSE, Chat Completions over SSE and Responses WebSocket mode are three framings of the
same path: each event goes out at ``start + offset`` (event-loop time); the events already due go out
together in one write (hundreds are due at once at zero latency: one write instead of hundreds;
at realistic pacing each goes out when its time comes); drawn faults are worked into the events first
(mock.faults), and a cut ends the stream where it strikes. What a cut does to the connection (an
abort, a clean end, a close frame) is each transport's own to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import sse
from ..core.jsoncodec import dumps_ascii
from ..core.protocol import DELTA_EVENTS
from ..core.websocket import OP_TEXT, encode_frame
from .faults import CUT, MALFORMED, Fault, FaultConfig, with_faults

MAX_BATCH = 128
Event = dict[str, Any]
Timed = tuple[float, Event]


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


@dataclass(frozen=True)
class Framing:
    """How one event becomes wire bytes on a transport, and which events carry output."""

    frame: Callable[[str, bytes], bytes]  # (event type, its JSON) -> the bytes that carry it
    is_token: Callable[[Event], bool]


SSE_RESPONSES = Framing(sse.encode, is_token)
SSE_CHAT = Framing(lambda _etype, data: sse.encode("", data), is_chat_token)
# (a connection with permessage-deflate frames with its own codec: mock.ws)
WEBSOCKET = Framing(lambda _etype, data: encode_frame(OP_TEXT, data), is_token)


def sequencer(extra: dict[str, Any] | None = None) -> Callable[[Event], None]:
    """Stamps Responses API events with ``sequence_number`` (and e.g. the lane's ``stream_id``)."""
    counter = iter(range(1 << 62))

    def stamp(event: Event) -> None:
        event["sequence_number"] = next(counter)
        if extra:
            event.update(extra)

    return stamp


def encode(batch: Sequence[Event], framing: Framing) -> tuple[bytes, str | None]:
    """A batch as wire bytes, with the fault markers acted on: a malformed event goes out cut short,
    and a cut ends the batch. Returns the bytes and the cutting fault's name (None: no cut)."""
    parts: list[bytes] = []
    for e in batch:
        etype = e.get("type", "")
        if etype == CUT:
            return b"".join(parts), e["fault"]
        if etype == MALFORMED:
            inner = e["event"]
            raw = dumps_ascii(inner)
            parts.append(framing.frame(inner.get("type", ""), raw[: max(1, len(raw) // 2)]))
        else:
            parts.append(framing.frame(etype, dumps_ascii(e)))
    return b"".join(parts), None


async def pace(
    events: Iterable[Timed],
    send: Callable[[list[Event]], Awaitable[None]],
    start: float,
    stamp: Callable[[Event], None] | None = None,
    is_token: Callable[[Event], bool] | None = None,
) -> float | None:
    """Send every event at ``start + offset``, in order, due ones batched. Returns when the first event
    that ``is_token`` was handed to the transport (the mock's own, actual TTFT), if asked."""
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


async def stream(
    events: Iterable[Timed],
    framing: Framing,
    write: Callable[[bytes], Awaitable[None]],
    start: float,
    *,
    faults: Sequence[Fault] = (),
    fault_config: FaultConfig | None = None,
    stamp: Callable[[Event], None] | None = None,
) -> tuple[float | None, str | None]:
    """Paces ``events`` (with ``faults`` worked in), writing each batch framed, until the end or a cut.
    Returns the first token's time and the cutting fault's name (None: no cut)."""
    cut: list[str] = []

    async def send(batch: list[Event]) -> None:
        if cut:
            return
        blob, name = encode(batch, framing)
        if blob:
            await write(blob)
        if name is not None:
            cut.append(name)

    if faults:
        assert fault_config is not None
        events = with_faults(iter(events), list(faults), fault_config, framing.is_token)
    first = await pace(events, send, start, stamp, framing.is_token)
    return first, (cut[0] if cut else None)
