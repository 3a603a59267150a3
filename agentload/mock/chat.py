"""``POST /v1/chat/completions``: the same scripted model behind the Chat Completions shape.

Chat Completions is stateless: every turn carries the whole history, so nothing is cached. The turn
index is the number of assistant messages already in ``messages``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from ..jsoncodec import dumps_ascii, dumps_utf8
from ..tokens import BYTES_PER_TOKEN, estimate_tokens, text_tokens
from .errors import bad_request
from .model import TASK_METADATA_KEY, Plan
from .pacing import arrived_at, is_chat_token, pace
from .requests import parse_json_body

_ROLES = ("system", "developer", "user", "assistant", "tool")


def _validate(body: Any) -> tuple[str, list[dict[str, Any]], list[Any], bool, bool, dict[str, str]]:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_json")
    model = body.get("model")
    if not isinstance(model, str):
        raise bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise bad_request(
                f"Invalid value for 'messages[{i}].role'. Supported values are: "
                f"{', '.join(repr(r) for r in _ROLES)}.",
                f"messages[{i}].role",
                "invalid_value",
            )
        if m["role"] == "tool" and not isinstance(m.get("tool_call_id"), str):
            raise bad_request(
                f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                f"messages[{i}].tool_call_id",
                "missing_required_parameter",
            )
        content = m.get("content")
        if content is not None and not isinstance(content, str | list):
            raise bad_request(
                f"Invalid type for 'messages[{i}].content'.", f"messages[{i}].content", "invalid_type"
            )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type")
    opts = body.get("stream_options") or {}
    include_usage = bool(isinstance(opts, dict) and opts.get("include_usage"))
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise bad_request("Invalid type for 'metadata'.", "metadata", "invalid_type")
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise bad_request("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    return model, messages, tools, stream, include_usage, metadata


def _chunks(
    cid: str,
    created: int,
    model: str,
    plan: Plan,
    usage: dict[str, Any] | None,
    ttft: float,
    step: float,
    chunk: int,
) -> Iterator[tuple[float, dict[str, Any]]]:
    def frame(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        """A chunk; ``delta=None`` is the final usage chunk, which has no choices."""
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "service_tier": "default",
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    t = ttft
    if plan.message is not None:
        yield t, frame({"role": "assistant", "content": "", "refusal": None})
        text = plan.message
        for s in range(0, len(text), chunk):
            piece = text[s : s + chunk]
            yield t, frame({"content": piece})
            t += step * text_tokens(piece)
        yield t, frame({}, "stop")
    else:
        for i, call in enumerate(plan.calls):
            head = {
                "index": i,
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            first = (
                {"role": "assistant", "content": None, "tool_calls": [head]}
                if i == 0
                else {"tool_calls": [head]}
            )
            yield t, frame(first)
            for s in range(0, len(call.arguments), chunk):
                piece = call.arguments[s : s + chunk]
                yield t, frame({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                t += step * text_tokens(piece)
        yield t, frame({}, "tool_calls")
    if usage is not None:
        yield t, {**frame(None), "usage": usage}


def _chat_frame(_type: str, data: bytes) -> bytes:
    return b"data: " + data + b"\n\n"


async def chat_completions(request: web.Request) -> web.StreamResponse:
    from .app import ENGINE, http_faults, json_response, reserve_tokens, stream_with_faults

    engine = request.app[ENGINE]
    body = parse_json_body(await request.read())
    faults = await http_faults(request, "chat")
    model, messages, tools, stream, include_usage, metadata = _validate(body)
    task = metadata.get(TASK_METADATA_KEY) or request.headers.get("X-Agentload-Task")
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    first_user = next((m for m in messages if m.get("role") == "user"), {})
    seed = hashlib.sha1(
        dumps_utf8({"content": first_user.get("content")}) + (task or "").encode()
    ).hexdigest()[:16]
    plan = engine.model.plan(task if isinstance(task, str) else None, turn, seed)
    prompt_tokens = estimate_tokens(len(dumps_utf8(messages)) + (len(dumps_utf8(tools)) if tools else 0))
    out_bytes = sum(len(c.arguments.encode()) for c in plan.calls) + len((plan.message or "").encode())
    completion_tokens = estimate_tokens(out_bytes)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    lat = engine.config.latency
    ttft = lat.ttft_s(prompt_tokens, 0)
    cid = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    max_out = body.get("max_completion_tokens", body.get("max_tokens"))
    estimated_out = (
        max_out if isinstance(max_out, int) and not isinstance(max_out, bool) else completion_tokens
    )
    limit_headers = reserve_tokens(request, prompt_tokens + estimated_out)
    if "exchange" in request:
        request["exchange"].response_id = cid
    start = arrived_at(request)
    if not stream:
        await asyncio.sleep(ttft + lat.token_interval_s() * completion_tokens)
        if plan.message is not None:
            message: dict[str, Any] = {
                "role": "assistant",
                "content": plan.message,
                "refusal": None,
                "annotations": [],
            }
            finish = "stop"
        else:
            message = {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {
                        "id": c.call_id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for c in plan.calls
                ],
            }
            finish = "tool_calls"
        return json_response(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "service_tier": "default",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }
        )
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            **limit_headers,
        }
    )
    await resp.prepare(request)

    async def send(batch: list[dict[str, Any]]) -> None:
        await resp.write(b"".join(b"data: " + dumps_ascii(c) + b"\n\n" for c in batch))

    chunks = _chunks(
        cid,
        created,
        model,
        plan,
        usage if include_usage else None,
        ttft,
        lat.token_interval_s(),
        max(1, engine.config.chunk_tokens) * BYTES_PER_TOKEN,
    )
    if faults:
        first, cut = await stream_with_faults(
            request, resp, chunks, faults, _chat_frame, start, is_token=is_chat_token
        )
        if cut:
            return resp
    else:
        first = await pace(chunks, send, start, is_token=is_chat_token)
    if first is not None and "exchange" in request:
        request["exchange"].first_token(first, start)
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp
