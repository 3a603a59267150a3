"""Parsing and validating request bodies: ``POST /v1/responses`` (and ``response.create`` events) and
``POST /v1/chat/completions``.

Anything malformed becomes an ``ApiError`` 400 in OpenAI's shape, never an exception the server
does not expect: the property-based tests feed arbitrary JSON through here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.jsoncodec import dumps_utf8
from ..core.protocol import TASK_METADATA_KEY
from ..core.tokens import estimate_tokens
from .errors import ApiError, bad_request

STREAM_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_MESSAGE_ROLES = ("user", "assistant", "system", "developer")
_ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning", "item_reference")
# Items the model produced: a maximal run of them in the history is one model turn.
_MODEL_ITEM_TYPES = ("function_call", "reasoning")
_CREATE_FIELDS = {
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "store",
    "stream",
    "previous_response_id",
    "metadata",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_output_tokens",
    "max_tool_calls",
    "reasoning",
    "text",
    "truncation",
    "user",
    "include",
    "prompt_cache_key",
    "safety_identifier",
    "service_tier",
    "stream_options",
    "background",
    "conversation",
    "top_logprobs",
    "prompt",
    "context_management",
    # WebSocket-only
    "type",
    "generate",
    "stream_id",
}


@dataclass
class CreateRequest:
    model: str
    items: list[dict[str, Any]]
    instructions: str | None
    tools: list[Any]
    store: bool
    stream: bool
    previous_response_id: str | None
    metadata: dict[str, str]
    generate: bool = True
    stream_id: str | None = None
    raw_sizes: dict[str, int] = field(default_factory=dict)
    max_output_tokens: int | None = None

    @property
    def model_turns_in_input(self) -> int:
        return count_model_turns(self.items)

    def input_tokens(self) -> int:
        """Tokens of what this request itself carries: instructions, tools and input items."""
        return estimate_tokens(sum(self.raw_sizes.values()))


def count_model_turns(items: list[dict[str, Any]]) -> int:
    turns, in_run = 0, False
    for item in items:
        is_model = item.get("type") in _MODEL_ITEM_TYPES or (
            item.get("type") == "message" and item.get("role") == "assistant"
        )
        if is_model and not in_run:
            turns += 1
        in_run = is_model
    return turns


def unanswered_calls(items: list[dict[str, Any]], pending: tuple[str, ...] = ()) -> list[str]:
    """call_ids of function calls with no function_call_output after them (in order)."""
    open_calls = dict.fromkeys(pending)
    for item in items:
        t = item.get("type")
        if t == "function_call":
            open_calls[item["call_id"]] = None
        elif t == "function_call_output":
            open_calls.pop(item["call_id"], None)
    return list(open_calls)


def _check_str(obj: dict, key: str, param: str, required: bool = True) -> str | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise bad_request(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
        return None
    if not isinstance(v, str):
        raise bad_request(
            f"Invalid type for '{param}': expected a string, but got {type(v).__name__}.",
            param,
            "invalid_type",
        )
    return v


def _normalize_item(raw: Any, i: int) -> dict[str, Any]:
    p = f"input[{i}]"
    if not isinstance(raw, dict):
        raise bad_request(f"Invalid type for '{p}': expected an object.", p, "invalid_type")
    t = raw.get("type", "message" if "role" in raw else None)
    if t not in _ITEM_TYPES:
        raise bad_request(
            f"Invalid value: {t!r}. Supported values are: {', '.join(repr(x) for x in _ITEM_TYPES)}.",
            f"{p}.type",
            "invalid_value",
        )
    if t == "message":
        role = raw.get("role")
        if role not in _MESSAGE_ROLES:
            raise bad_request(
                f"Invalid value: {role!r}. Supported values are: "
                f"{', '.join(repr(x) for x in _MESSAGE_ROLES)}.",
                f"{p}.role",
                "invalid_value",
            )
        content = raw.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise bad_request(
                        f"Invalid content part at '{p}.content[{j}]'.", f"{p}.content[{j}]", "invalid_type"
                    )
        elif not isinstance(content, str):
            raise bad_request(
                f"Invalid type for '{p}.content': expected a string or an array.",
                f"{p}.content",
                "invalid_type",
            )
        return {**raw, "type": "message"}
    if t == "function_call":
        for key in ("call_id", "name", "arguments"):
            _check_str(raw, key, f"{p}.{key}")
    elif t == "function_call_output":
        _check_str(raw, "call_id", f"{p}.call_id")
        out = raw.get("output")
        if not isinstance(out, str | list):
            raise bad_request(
                f"Invalid type for '{p}.output': expected a string or an array.",
                f"{p}.output",
                "invalid_type",
            )
    elif t == "item_reference":
        _check_str(raw, "id", f"{p}.id")
    return raw


def parse_create(body: Any, *, websocket: bool) -> CreateRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_json")
    if websocket:
        if body.get("type") != "response.create":
            raise bad_request(
                f"Invalid value: {body.get('type')!r}. Supported values are: 'response.create'.",
                "type",
                "invalid_value",
            )
        if body.get("background"):
            raise bad_request(
                "background is not supported over WebSocket.", "background", "unsupported_parameter"
            )
    else:
        for key in ("type", "generate", "stream_id"):
            if key in body:
                raise bad_request(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
    unknown = sorted(set(body) - _CREATE_FIELDS)
    if unknown:
        raise bad_request(f"Unknown parameter: '{unknown[0]}'.", unknown[0], "unknown_parameter")

    model = _check_str(body, "model", "model")
    assert model is not None
    instructions = _check_str(body, "instructions", "instructions", required=False)
    prev = _check_str(body, "previous_response_id", "previous_response_id", required=False)

    raw_input = body.get("input", [])
    if isinstance(raw_input, str):
        items = [{"type": "message", "role": "user", "content": raw_input}]
    elif isinstance(raw_input, list):
        items = [_normalize_item(x, i) for i, x in enumerate(raw_input)]
    else:
        raise bad_request("Invalid type for 'input': expected a string or an array.", "input", "invalid_type")

    tools = body.get("tools") or []
    if not isinstance(tools, list) or not all(
        isinstance(t, dict) and isinstance(t.get("type"), str) for t in tools
    ):
        raise bad_request(
            "Invalid type for 'tools': expected an array of tool objects.", "tools", "invalid_type"
        )
    for i, t in enumerate(tools):
        if t["type"] == "function":
            _check_str(t, "name", f"tools[{i}].name")

    def _bool(key: str, default: bool) -> bool:
        v = body.get(key, default)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise bad_request(f"Invalid type for '{key}': expected a boolean.", key, "invalid_type")
        return v

    store = _bool("store", True)
    stream = _bool("stream", False)
    generate = _bool("generate", True)

    metadata = body.get("metadata") or {}
    if (
        not isinstance(metadata, dict)
        or len(metadata) > 16
        or not all(
            isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 512
            for k, v in metadata.items()
        )
    ):
        raise bad_request(
            "Invalid 'metadata': at most 16 string keys (64 chars) with string values (512 chars).",
            "metadata",
            "invalid_value",
        )

    max_out = body.get("max_output_tokens")
    if max_out is not None and (isinstance(max_out, bool) or not isinstance(max_out, int) or max_out < 16):
        raise bad_request(
            "Invalid 'max_output_tokens': expected an integer of 16 or more.",
            "max_output_tokens",
            "invalid_value",
        )

    stream_id = body.get("stream_id")
    if stream_id is not None and (not isinstance(stream_id, str) or not STREAM_ID_RE.match(stream_id)):
        raise ApiError(
            400,
            "Invalid 'stream_id': must match ^[A-Za-z0-9_.-]{1,256}$.",
            "invalid_request_error",
            "invalid_stream_id",
            "stream_id",
        )

    sizes = {
        "instructions": len(instructions.encode()) if instructions else 0,
        "tools": len(dumps_utf8(tools)) if tools else 0,
        "input": len(dumps_utf8(items)) if items else 0,
    }
    return CreateRequest(
        model=model,
        items=items,
        instructions=instructions,
        tools=tools,
        store=store,
        stream=stream,
        previous_response_id=prev,
        metadata=metadata,
        generate=generate,
        stream_id=stream_id,
        raw_sizes=sizes,
        max_output_tokens=max_out,
    )


def check_tool_outputs(items: list[dict[str, Any]], pending: tuple[str, ...]) -> None:
    missing = unanswered_calls(items, pending)
    if missing:
        raise bad_request(f"No tool output found for function call {missing[0]}.", "input")


def parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
            None,
            "invalid_json",
        ) from None


_CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[Any]
    stream: bool
    include_usage: bool
    task: str | None  # the agentload task the conversation names (metadata, or the task header)
    prompt_tokens: int
    max_tokens: int | None


def parse_chat(body: Any, task_header: str | None = None) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_json")
    model = body.get("model")
    if not isinstance(model, str):
        raise bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _CHAT_ROLES:
            raise bad_request(
                f"Invalid value for 'messages[{i}].role'. Supported values are: "
                f"{', '.join(repr(r) for r in _CHAT_ROLES)}.",
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
    task = metadata.get(TASK_METADATA_KEY) or task_header
    max_out = body.get("max_completion_tokens", body.get("max_tokens"))
    return ChatRequest(
        model=model,
        messages=messages,
        tools=tools,
        stream=stream,
        include_usage=include_usage,
        task=task if isinstance(task, str) else None,
        prompt_tokens=estimate_tokens(len(dumps_utf8(messages)) + (len(dumps_utf8(tools)) if tools else 0)),
        max_tokens=max_out if isinstance(max_out, int) and not isinstance(max_out, bool) else None,
    )
