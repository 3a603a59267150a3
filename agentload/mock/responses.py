"""``POST /v1/responses`` (SSE or JSON), ``GET /v1/responses/{id}``, and ``GET /v1/responses`` upgraded
to WebSocket mode (mock.ws)."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from .engine import visible_tokens
from .errors import ApiError
from .middleware import json_response, reserve_tokens
from .requests import parse_create, parse_json_body
from .sse import SseReply, http_faults, reply_encoding, stream_body
from .state import ENGINE, arrived_at, exchange_of, rate_key
from .streaming import SSE_RESPONSES, sequencer
from .ws import websocket_session


async def create_response(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    raw = await request.read()
    body = parse_json_body(raw)
    faults = await http_faults(request, "responses")
    req = parse_create(body, websocket=False)
    prev = engine.resolve_previous(req)
    gen = engine.start(req, prev, rate_key(request), body_bytes=len(raw), new_request=True)
    limit_headers = reserve_tokens(request, gen.reserved_tokens()) if req.generate else {}
    exchange = exchange_of(request)
    if exchange is not None:
        exchange.response_id = gen.id
    start = arrived_at(request)
    headers = {"x-request-id": f"req_{secrets.token_hex(16)}", "openai-processing-ms": "0", **limit_headers}
    if not req.stream:
        delay = gen.first_output_s + gen.config.latency.token_interval_s() * visible_tokens(gen)
        if delay > 0:
            await asyncio.sleep(delay)
        engine.finish(gen)
        return json_response(gen.final_response(), headers=headers, encoding=reply_encoding(request))
    reply = SseReply(request, headers)
    await reply.prepare(request)
    first, cut = await stream_body(request, reply, gen.events(), SSE_RESPONSES, start, faults, sequencer())
    if cut:
        return reply.resp
    if first is not None and exchange is not None:
        exchange.first_token(first, start)
    engine.finish(gen)
    await reply.write_eof()
    return reply.resp


async def get_response(request: web.Request) -> web.Response:
    rid = request.match_info["response_id"]
    st = request.app[ENGINE].store.get(rid)
    if st is None or st.response is None:
        raise ApiError(404, f"Response with id '{rid}' not found.", "invalid_request_error", None, None)
    return json_response(st.response)


async def responses_get(request: web.Request) -> web.StreamResponse:
    """GET /v1/responses: the WebSocket mode's upgrade (plain GET is not an endpoint)."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(
            405,
            "GET /v1/responses is only available as a WebSocket upgrade (WebSocket mode).",
            "invalid_request_error",
            None,
            None,
        )
    return await websocket_session(request)
