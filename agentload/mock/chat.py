"""``POST /v1/chat/completions``: the engine's generation in the Chat Completions shape.

Chat Completions is stateless: every turn carries the whole history, of which only the prompt cache
(mock.prompt_cache) may hold a prefix. The engine
plans the turn as for the Responses API (mock.engine); the chunks streamed are its events translated
(``chat_chunks``), at the same times, so both APIs tell the same story at the same pace.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from ..core.protocol import TASK_HEADER
from .engine import Generation, visible_tokens
from .middleware import json_response, reserve_tokens
from .requests import parse_chat, parse_json_body
from .sse import SseReply, http_faults, reply_encoding, stream_body
from .state import ENGINE, arrived_at, exchange_of, rate_key
from .streaming import SSE_CHAT, Timed


def chat_usage(gen: Generation) -> dict[str, Any]:
    u = gen.usage
    return {
        "prompt_tokens": u["input_tokens"],
        "completion_tokens": u["output_tokens"],
        "total_tokens": u["total_tokens"],
        "prompt_tokens_details": {
            "cached_tokens": u["input_tokens_details"]["cached_tokens"],
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": u["output_tokens_details"]["reasoning_tokens"],
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def system_fingerprint(model: str) -> str:
    """The backend configuration a reply came from (the spec's string): one per model here."""
    return "fp_" + hashlib.sha1(model.encode()).hexdigest()[:10]


def chat_chunks(gen: Generation, cid: str, created: int, include_usage: bool) -> Iterator[Timed]:
    """The generation's Responses events as Chat Completions chunks, each at its event's time. Chat
    streams no reasoning (its time passes before the first chunk with content); with ``include_usage``
    every chunk but the last carries ``usage: null`` and the last the usage, as the spec says."""
    model = gen.req.model
    fingerprint = system_fingerprint(model)

    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        """A chunk; ``delta=None`` is the final usage chunk, which has no choices."""
        c: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": fingerprint,
            "service_tier": "default",
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            c["usage"] = None
        return c

    def padded(c: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
        if "obfuscation" in source:
            c["obfuscation"] = source["obfuscation"]
        return c

    # the reasoning item's output index comes first, and a message before the calls
    base = (1 if gen.reasoning_tokens else 0) + (1 if gen.plan.message is not None and gen.plan.calls else 0)
    said = False  # the assistant role went out already (with a message's first chunk)
    for t, event in gen.events():
        etype = event["type"]
        if etype == "response.output_item.added":
            item = event["item"]
            if item["type"] == "message":
                said = True
                yield t, chunk({"role": "assistant", "content": "", "refusal": None})
            elif item["type"] == "function_call":  # reasoning items: not streamed over chat
                i = event["output_index"] - base
                head = {"index": i, "id": item["call_id"], "type": "function",
                        "function": {"name": item["name"], "arguments": ""}}  # fmt: skip
                first = (
                    {"role": "assistant", "content": None, "tool_calls": [head]}
                    if i == 0 and not said
                    else {"tool_calls": [head]}
                )
                yield t, chunk(first)
        elif etype == "response.output_text.delta":
            yield t, padded(chunk({"content": event["delta"]}), event)
        elif etype == "response.function_call_arguments.delta":
            call = {"index": event["output_index"] - base, "function": {"arguments": event["delta"]}}
            yield t, padded(chunk({"tool_calls": [call]}), event)
        elif etype == "response.completed":
            yield t, chunk({}, "tool_calls" if gen.plan.calls else "stop")
            if include_usage:
                yield t, {**chunk(None), "usage": chat_usage(gen)}


def completion(gen: Generation, cid: str, created: int) -> dict[str, Any]:
    """The whole reply, not streamed."""
    plan = gen.plan
    message: dict[str, Any] = {
        "role": "assistant",
        "content": plan.message,
        "refusal": None,
        "annotations": [],
    }
    if plan.calls:
        message["tool_calls"] = [
            {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in plan.calls
        ]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": gen.req.model,
        "system_fingerprint": system_fingerprint(gen.req.model),
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if plan.calls else "stop",
            }
        ],
        "usage": chat_usage(gen),
    }


async def chat_completions(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    raw = await request.read()
    body = parse_json_body(raw)
    faults = await http_faults(request, "chat")
    chat = parse_chat(body, request.headers.get(TASK_HEADER))
    gen = engine.start_chat(chat, rate_key(request), body_bytes=len(raw))
    cid = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    limit_headers = reserve_tokens(request, gen.reserved_tokens())
    exchange = exchange_of(request)
    if exchange is not None:
        exchange.response_id = cid
    start = arrived_at(request)
    if not chat.stream:
        await asyncio.sleep(
            gen.first_output_s + engine.config.latency.token_interval_s() * visible_tokens(gen)
        )
        return json_response(completion(gen, cid, created), encoding=reply_encoding(request))
    reply = SseReply(request, limit_headers)
    await reply.prepare(request)
    chunks = chat_chunks(gen, cid, created, chat.include_usage)
    first, cut = await stream_body(request, reply, chunks, SSE_CHAT, start, faults)
    if cut:
        return reply.resp
    if first is not None and exchange is not None:
        exchange.first_token(first, start)
    await reply.write(b"data: [DONE]\n\n")
    await reply.write_eof()
    return reply.resp
