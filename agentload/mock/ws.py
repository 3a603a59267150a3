"""Responses API WebSocket mode: ``GET /v1/responses`` upgraded, one JSON event per text frame.

Per connection: requests with the same ``stream_id`` (lane) run first in, first out; different lanes run
concurrently, at most ``ws_max_in_flight`` responses at once (the rest wait) and ``ws_max_lanes`` named
lanes. Each lane keeps only its most recent response in memory, and any lane may continue (fork) from
another lane's latest response; older ids fail with ``previous_response_not_found`` unless the response
was stored. After ``ws_lifetime_s`` the connection finishes what is in flight, sends
``websocket_connection_limit_reached`` and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ..core.deflate import MessageDeflate
from ..core.jsoncodec import dumps_ascii
from ..core.websocket import OP_TEXT, WsCodec, close_payload, frame_size
from . import aiohttp_ws
from .config import RequestWork
from .engine import ResponseState
from .errors import ApiError, bad_request
from .faults import STATUS_FAULTS, first_of
from .ledger import connection_of
from .requests import CreateRequest, parse_create
from .state import CONFIG, ENGINE, FAULTS, LEDGER, LIMITER, WS_STATS, rate_key
from .streaming import WEBSOCKET, Framing, sequencer, stream

LIFETIME_DRAIN_S = 120.0
# what the mock counts of lanes (WS_STATS): named lanes opened, connections that opened one, the most
# named lanes on one connection, the most responses in flight at once on one connection
LANE_STATS = ("lanes", "lane_connections", "peak_lanes", "peak_in_flight")


def lifetime_error(minutes: float) -> ApiError:
    return ApiError(
        400,
        f"Responses websocket connection limit reached ({minutes:g} minutes). Create a new "
        "websocket connection to continue.",
        "invalid_request_error",
        "websocket_connection_limit_reached",
        None,
    )


@dataclass
class Lane:
    key: str
    queue: asyncio.Queue[tuple[CreateRequest, Any, float, int]] = field(default_factory=asyncio.Queue)
    cache: ResponseState | None = None
    busy: bool = False
    task: asyncio.Task[None] | None = None


def _close_frame_size(msg: Any) -> int:
    """A client's close frame on the wire (masked: the code and reason after the header and the mask
    key). 0 when no close frame came."""
    if msg.type != WSMsgType.CLOSE:
        return 0
    return frame_size(len(close_payload(msg.data or None, str(msg.extra or ""))), masked=True)


class WsSession:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.request = request
        self.ws = ws
        self.config = request.app[CONFIG]
        self.engine = request.app[ENGINE]
        self.ledger = request.app[LEDGER]
        self.limiter = request.app[LIMITER]
        self.faults = request.app[FAULTS]
        self.key = rate_key(request)
        self.conn = connection_of(request)
        self.lanes: dict[str, Lane] = {}
        self.in_flight = asyncio.Semaphore(self.config.ws_max_in_flight)
        self.active = 0  # responses in flight now
        self.send_lock = asyncio.Lock()
        self.expired = False
        # permessage-deflate, when the client offered it and the mock accepts it (--ws-compression):
        # with context takeover (unless the client asked for server_no_context_takeover) later messages
        # refer back to earlier ones, where most of the gain on repetitive JSON events comes from
        agreed = aiohttp_ws.permessage_deflate(ws)
        self.codec = WsCodec(client=False, deflate=MessageDeflate(*agreed) if agreed else None)
        if agreed is not None:
            request.app[WS_STATS]["deflate"] += 1
        self.framing = (
            WEBSOCKET
            if agreed is None
            else Framing(lambda _etype, data: self.frame(data), WEBSOCKET.is_token)
        )

    def frame(self, payload: bytes) -> bytes:
        return self.codec.send(OP_TEXT, payload)

    async def send(self, events: list[dict[str, Any]]) -> None:
        """Every event of a batch as its own text frame, all in one transport write.

        Why not ``send_str`` per event: aiohttp writes each frame to the socket at once, so a batch of
        128 due events became 128 syscalls and 128 TCP segments, and the mock, not the generator,
        was the limit (bench/mock_capacity.py). The frames are the same bytes either way.
        """
        await self.write(b"".join(self.frame(dumps_ascii(e)) for e in events))

    async def write(self, blob: bytes) -> None:
        """Frames already encoded, in one transport write. (Frames are compressed as they are made, in
        the order they are sent: the deflate context is shared, so the write order must be the framing
        order; every write happens on this one event loop, between awaits, so it is.)"""
        async with self.send_lock:
            await aiohttp_ws.write_frames(self.ws, blob)

    async def run(self) -> None:
        lifetime = asyncio.create_task(self._lifetime())
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                    break
                if msg.type == WSMsgType.TEXT:
                    received = asyncio.get_running_loop().time()  # TTFT runs from here, as from arrival
                    exchange = (
                        self.conn.mark(self.ledger, "ws-message", self.request.path) if self.conn else None
                    )
                    await self._on_text(msg.data, exchange, received)
                elif msg.type == WSMsgType.BINARY:
                    await self.send(
                        [
                            bad_request(
                                "Binary frames are not supported; send JSON text frames.",
                                None,
                                "invalid_json",
                            ).ws_event()
                        ]
                    )
                elif msg.type == WSMsgType.ERROR:
                    break
            # the client's close frame (and our echo) is an exchange of its own, not part of the last turn
            if self.conn is not None:
                self.conn.mark(self.ledger, "ws-close", self.request.path, _close_frame_size(msg))
            await self.ws.close()
        finally:
            lifetime.cancel()
            for lane in self.lanes.values():
                if lane.task:
                    lane.task.cancel()
            for t in [lifetime, *(lane.task for lane in self.lanes.values() if lane.task)]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    async def _on_text(self, data: str, exchange: Any, received: float) -> None:
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            await self.send(
                [bad_request("Invalid JSON in WebSocket message.", None, "invalid_json").ws_event()]
            )
            return
        sid = (
            body.get("stream_id")
            if isinstance(body, dict) and isinstance(body.get("stream_id"), str)
            else None
        )
        if self.expired:
            await self.send([lifetime_error(self.config.ws_lifetime_s / 60).ws_event(sid)])
            await self.ws.close()
            return
        try:
            req = parse_create(body, websocket=True)
        except ApiError as e:
            await self.send([e.ws_event(sid)])
            return
        key = req.stream_id or ""
        lane = self.lanes.get(key)
        if lane is None:
            named = sum(1 for k in self.lanes if k)
            if key and named >= self.config.ws_max_lanes:
                err = ApiError(
                    400,
                    f"Too many streams on this connection (limit {self.config.ws_max_lanes}).",
                    "invalid_request_error",
                    "websocket_stream_limit_reached",
                    "stream_id",
                )
                await self.send([err.ws_event(req.stream_id)])
                return
            lane = self.lanes[key] = Lane(key)
            lane.task = asyncio.create_task(self._lane_worker(lane))
            if key:
                stats = self.request.app[WS_STATS]
                stats["lanes"] += 1
                stats["lane_connections"] += 1 if named == 0 else 0
                stats["peak_lanes"] = max(stats["peak_lanes"], named + 1)
        size = len(data.encode())  # (bytes: to price them, and what a gateway sent on: mock.continuity)
        lane.queue.put_nowait((req, exchange, received, size))

    def _cached(self, rid: str | None) -> ResponseState | None:
        for lane in self.lanes.values():
            if lane.cache is not None and lane.cache.id == rid:
                return lane.cache
        return None

    async def _lane_worker(self, lane: Lane) -> None:
        while True:
            req, exchange, received, size = await lane.queue.get()
            lane.busy = True
            try:
                async with self.in_flight:
                    self.active += 1
                    stats = self.request.app[WS_STATS]
                    stats["peak_in_flight"] = max(stats["peak_in_flight"], self.active)
                    try:
                        await self._respond(lane, req, exchange, received, size)
                    finally:
                        self.active -= 1
            finally:
                lane.busy = lane.queue.qsize() > 0

    async def _respond(
        self, lane: Lane, req: CreateRequest, exchange: Any, received: float, size: int = 0
    ) -> None:
        faults = self.faults.draw("ws") if self.faults.config.enabled else []
        try:
            status = first_of(faults, STATUS_FAULTS)
            if status is not None:
                raise status.error()
            if first_of(faults, ("connection_limit",)) is not None:
                await self.send([lifetime_error(self.config.ws_lifetime_s / 60).ws_event(req.stream_id)])
                await self.ws.close()
                return
            self.limiter.admit_request(self.key)
            cached = self._cached(req.previous_response_id)
            prev = self.engine.resolve_previous(req, cached)
            warm = prev is not None and prev is cached  # held in this connection's memory
            gen = self.engine.start(req, prev, self.key, body_bytes=size, warm=warm)
            if req.generate:
                self.limiter.admit_tokens(self.key, gen.reserved_tokens())
        except ApiError as e:
            await self.send([e.ws_event(req.stream_id)])
            return
        if exchange is not None:
            exchange.response_id = gen.id
        extra = {"stream_id": req.stream_id} if req.stream_id else None
        # Queued behind the lane or the in-flight cap: the model starts when the request is taken up.
        start = max(received, asyncio.get_running_loop().time())
        first, cut = await stream(
            gen.events(), self.framing, self.write, start, faults=faults, fault_config=self.faults.config,
            stamp=sequencer(extra),
        )  # fmt: skip
        if cut == "drop":  # no close frame: the client sees 1006
            if self.request.transport is not None:  # (None: the client went away first)
                self.request.transport.abort()
            return
        if cut:  # truncated: close 1000; close_1011: close 1011
            code = 1011 if cut == "close_1011" else 1000
            await self.ws.close(code=code, message=b"fault injected: " + cut.encode())
            return
        if first is not None and exchange is not None:
            exchange.first_token(first, received)
        lane.cache = self.engine.finish(gen)

    async def _lifetime(self) -> None:
        await asyncio.sleep(self.config.ws_lifetime_s)
        self.expired = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIFETIME_DRAIN_S
        while any(lane.busy or lane.queue.qsize() for lane in self.lanes.values()) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await self.send([lifetime_error(self.config.ws_lifetime_s / 60).ws_event()])
        await self.ws.close()


async def websocket_session(request: web.Request) -> web.WebSocketResponse:
    """The upgrade: refused with 429 (and the rate-limit headers) past the key's connection limit."""
    limiter, key = request.app[LIMITER], rate_key(request)
    limiter.open_connection(key)  # raises the 429 ApiError, answered before any upgrade
    try:
        cost = request.app[CONFIG].server_cost
        if cost.admission_ms:  # a connection is admitted once, at its upgrade (mock.config.ServerCost)
            await asyncio.sleep(cost.request_s(RequestWork(new_request=True)))
        ws = web.WebSocketResponse(
            max_msg_size=256 * 1024 * 1024,
            autoping=True,
            autoclose=False,
            compress=request.app[CONFIG].ws_compression,
        )
        ws.headers.update(limiter.headers(key))
        await ws.prepare(request)
        await WsSession(request, ws).run()
        return ws
    finally:
        limiter.close_connection(key)
