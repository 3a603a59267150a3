"""The one place the mock reaches past aiohttp's public WebSocket API (aiohttp is pinned in
pyproject.toml; tests/unit/test_aiohttp_ws.py fails when an upgrade moves what is used here).

Why past it: the mock frames its own server frames (core.websocket) and writes a batch of them in one
transport write; ``send_str`` writes each frame to the socket at once, so a batch of 128 due events
became 128 syscalls and 128 TCP segments, and the mock, not the generator, was the limit
(bench/mock_capacity.py). What that needs of aiohttp's internals: the prepared response's frame writer
(``WebSocketResponse._writer``), its transport and protocol, the protocol's flow control (``_paused``,
``_drain_helper``: the transport's buffer past its high-water mark, and the wait until it drains), and
whether the client asked for ``server_no_context_takeover`` (``WebSocketWriter.notakeover``; the
window bits agreed are public: ``WebSocketResponse.compress``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


def _writer(ws: web.WebSocketResponse) -> Any:
    return ws._writer


def permessage_deflate(ws: web.WebSocketResponse) -> tuple[int, bool] | None:
    """What a prepared response agreed to send compressed: (window bits, no context takeover), or None
    when permessage-deflate was not agreed."""
    if not ws.compress:
        return None
    writer = _writer(ws)
    return int(ws.compress), bool(writer is not None and writer.notakeover)


async def write_frames(ws: web.WebSocketResponse, blob: bytes) -> None:
    """Frames already encoded (core.websocket, unmasked), in one transport write; waits while the
    transport's buffer is past its high-water mark. ConnectionResetError when it is closing."""
    writer = _writer(ws)
    if writer is None or writer.transport is None or writer.transport.is_closing():
        raise ConnectionResetError("Cannot write to closing transport")
    writer.transport.write(blob)
    protocol = writer.protocol
    if protocol._paused:
        await protocol._drain_helper()
