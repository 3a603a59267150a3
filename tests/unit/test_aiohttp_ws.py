"""agentload.mock.aiohttp_ws, the one place the mock reaches past aiohttp's public WebSocket API, against
the aiohttp pinned in pyproject.toml on a real test server: the internals it uses are where it expects
them (this fails, never skips, when an aiohttp upgrade moves them), the frames it writes for core's
codec are what aiohttp's own client reads (compressed too), and a large write waits for the transport
to drain."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from agentload.core.deflate import MessageDeflate, MessageInflate
from agentload.core.websocket import OP_BINARY, OP_TEXT, WsCodec, accept_key, new_key
from agentload.mock import aiohttp_ws

Sockets = asyncio.Queue[tuple[web.WebSocketResponse, asyncio.Event]]  # each connection, and its end
SOCKETS: web.AppKey[Sockets] = web.AppKey("sockets", asyncio.Queue)
MESSAGES = [b'{"type":"response.output_text.delta","delta":"word %d ","sequence_number":%d}' % (i, i)
            for i in range(50)]  # fmt: skip


def run(scenario: Callable[[TestServer, Sockets], Awaitable[None]]) -> None:
    async def main() -> None:
        async with _server() as (server, sockets):
            await asyncio.wait_for(scenario(server, sockets), 60)

    asyncio.run(main())


@asynccontextmanager
async def _server() -> AsyncIterator[tuple[TestServer, Sockets]]:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=True, max_msg_size=0)
        await ws.prepare(request)
        done = asyncio.Event()
        request.app[SOCKETS].put_nowait((ws, done))
        async for msg in ws:  # until the client closes
            if msg.type == WSMsgType.TEXT:  # (echoed back as the mock would frame it)
                agreed = aiohttp_ws.permessage_deflate(ws)
                codec = WsCodec(client=False, deflate=MessageDeflate(*agreed) if agreed else None)
                await aiohttp_ws.write_frames(ws, codec.send(OP_TEXT, msg.data.encode()))
        done.set()
        return ws

    app = web.Application()
    app[SOCKETS] = asyncio.Queue()
    app.router.add_get("/ws", handler)
    server = TestServer(app)  # (its __aenter__ is typed as returning the base class)
    async with server:
        yield server, app[SOCKETS]


def test_the_internals_are_where_the_adapter_expects_them() -> None:
    """Named one by one, so an upgrade that moves one says which."""

    async def scenario(server: TestServer, sockets: Sockets) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(server.make_url("/ws")) as client:
            ws, _ = await sockets.get()
            writer = ws._writer
            assert writer is not None, "WebSocketResponse._writer after prepare()"
            assert isinstance(writer, aiohttp.http_websocket.WebSocketWriter), type(writer)
            assert hasattr(writer, "notakeover"), "WebSocketWriter.notakeover"
            assert isinstance(writer.transport, asyncio.Transport), "WebSocketWriter.transport"
            assert callable(writer.transport.is_closing) and callable(writer.transport.write)
            protocol = writer.protocol
            assert isinstance(protocol._paused, bool), "the protocol's _paused flag"
            assert inspect.iscoroutinefunction(protocol._drain_helper), "the protocol's _drain_helper()"
            assert not ws.compress  # (public: 0, the client offered no compression)
            assert aiohttp_ws.permessage_deflate(ws) is None
            await client.close()

    run(scenario)


def test_frames_written_raw_reach_aiohttps_client_compressed() -> None:
    async def scenario(server: TestServer, sockets: Sockets) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(server.make_url("/ws"), compress=15) as client,
        ):
            ws, _ = await sockets.get()
            agreed = aiohttp_ws.permessage_deflate(ws)
            assert agreed == (15, False)
            codec = WsCodec(client=False, deflate=MessageDeflate(*agreed))
            await aiohttp_ws.write_frames(ws, b"".join(codec.send(OP_TEXT, m) for m in MESSAGES))
            got = [(await client.receive()).data.encode() for _ in MESSAGES]
            assert got == MESSAGES  # inflated by aiohttp's own reader, context takeover and all
            await client.send_str("echo")  # the other way: aiohttp's frames, our frames back
            assert (await client.receive()).data == "echo"
            await client.close()

    run(scenario)


def test_no_context_takeover_when_the_client_asks() -> None:
    """A raw client (core's codec) asking for server_no_context_takeover: the adapter sees it, and
    every message inflates on its own."""

    async def scenario(server: TestServer, sockets: Sockets) -> None:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        key = new_key()
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n".encode()
            + b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 101 " in head and accept_key(key).encode() in head, head
        ws, _ = await sockets.get()
        agreed = aiohttp_ws.permessage_deflate(ws)
        assert agreed == (15, True)
        server_codec = WsCodec(client=False, deflate=MessageDeflate(*agreed))
        await aiohttp_ws.write_frames(ws, b"".join(server_codec.send(OP_TEXT, m) for m in MESSAGES[:5]))
        client = WsCodec(client=True, inflate=MessageInflate(15, True))
        got: list[bytes] = []
        while len(got) < 5:
            client.receive_data(await reader.read(65536))
            got += [payload for _, payload, _ in client.events()]
        assert got == MESSAGES[:5]
        writer.close()

    run(scenario)


def test_a_large_write_waits_for_the_transport_to_drain_and_a_closed_one_refuses() -> None:
    async def scenario(server: TestServer, sockets: Sockets) -> None:
        async with aiohttp.ClientSession() as session:
            client = await session.ws_connect(server.make_url("/ws"), max_msg_size=0)
            ws, done = await sockets.get()
            block = os.urandom(65536)
            n = 384  # 24 MB: more than loopback's socket buffers take, so the write must wait
            frames = WsCodec(client=False).send(OP_BINARY, block) * n

            async def read_all() -> int:
                return sum([len((await client.receive()).data) for _ in range(n)])

            reading = asyncio.create_task(read_all())
            await aiohttp_ws.write_frames(ws, frames)
            assert ws._writer is not None
            transport = ws._writer.transport
            assert transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[1]
            assert await reading == n * len(block)
            await client.close()
            await done.wait()
            try:
                await aiohttp_ws.write_frames(ws, frames[:10])
            except ConnectionResetError:
                pass
            else:
                raise AssertionError("a write on a closed connection went through")

    run(scenario)
