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
from ..core.protocol import REASONING_EFFORTS, TASK_METADATA_KEY
from ..core.tokens import estimate_tokens
from .errors import ApiError, bad_request
from .models import model_info
from .openapi import (
    CHAT_FIELDS,
    CHAT_ROLES,
    CREATE_RESPONSE_FIELDS,
    INPUT_ITEM_TYPES,
    WEBSOCKET_CREATE_FIELDS,
)

STREAM_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_MESSAGE_ROLES = ("user", "assistant", "system", "developer")
# Beside the spec's fields: ``client_metadata``, which OpenAI takes and Codex CLI sends on every
# request (each value at most 2,048 characters; longer ones are dropped, not refused: Codex PR #27557),
# and WebSocket mode's ``generate`` (false: a warm-up; OpenAI's WebSocket mode guide).
CLIENT_METADATA_VALUE_MAX = 2048
_HTTP_FIELDS = CREATE_RESPONSE_FIELDS | {"client_metadata"}
_WEBSOCKET_FIELDS = WEBSOCKET_CREATE_FIELDS | {"client_metadata", "generate"}
_WEBSOCKET_ONLY = (_WEBSOCKET_FIELDS - _HTTP_FIELDS) | {"generate"}
# Items the model produced: a maximal run of them in the history is one model turn.
MODEL_ITEM_TYPES = frozenset(
    {
        "function_call", "custom_tool_call", "reasoning", "local_shell_call", "shell_call", "apply_patch_call",
        "web_search_call", "file_search_call", "computer_call", "code_interpreter_call", "image_generation_call",
        "mcp_call", "mcp_list_tools", "mcp_approval_request", "tool_search_call", "program",
    }
)  # fmt: skip
# calls whose output the next request must carry (OpenAI refuses a request without it)
CALL_OUTPUTS = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}
_OUTPUT_CALL = {v: k for k, v in CALL_OUTPUTS.items()}
_STRING_FIELDS = {
    "function_call": ("call_id", "name", "arguments"),
    "custom_tool_call": ("call_id", "name", "input"),
    "function_call_output": ("call_id",),
    "custom_tool_call_output": ("call_id",),
    "item_reference": ("id",),
}
SUMMARIES = ("auto", "concise", "detailed")
VERBOSITIES = ("low", "medium", "high")


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
    include: tuple[str, ...] = ()
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    verbosity: str | None = None
    text_format: dict[str, Any] | None = None  # text.format as given: json_schema or json_object answers JSON
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    prompt_cache_key: str | None = None
    client_metadata: dict[str, str] = field(default_factory=dict)
    obfuscation: bool = True  # stream_options.include_obfuscation (on unless false)
    item_parts: list[bytes] | None = None  # each input item's JSON, encoded once in parsing
    conversation: str | None = None  # the Conversation it continues and joins (its id)

    def input_tokens(self) -> int:
        """Tokens of what this request itself carries: instructions, tools and input items."""
        return estimate_tokens(sum(self.raw_sizes.values()))

    def prompt_parts(self) -> list[bytes]:
        """The prompt as the model sees it, in order: tools, instructions, then each input item (what
        a prompt cache matches prefixes of)."""
        parts = [dumps_utf8(self.tools)] if self.tools else []
        if self.instructions:
            parts.append(self.instructions.encode())
        items = self.item_parts if self.item_parts is not None else [dumps_utf8(i) for i in self.items]
        return parts + items


def is_model_item(item: dict[str, Any]) -> bool:
    t = item.get("type")
    return t in MODEL_ITEM_TYPES or (t == "message" and item.get("role") == "assistant")


def count_model_turns(items: list[dict[str, Any]]) -> int:
    turns, in_run = 0, False
    for item in items:
        is_model = is_model_item(item)
        if is_model and not in_run:
            turns += 1
        in_run = is_model
    return turns


def unanswered_calls(items: list[dict[str, Any]], pending: tuple[str, ...] = ()) -> list[str]:
    """call_ids of function and custom tool calls with no output after them (in order)."""
    open_calls = dict.fromkeys(pending)
    for item in items:
        t = item.get("type")
        if t in CALL_OUTPUTS:
            open_calls[item["call_id"]] = None
        elif t in _OUTPUT_CALL:
            open_calls.pop(item["call_id"], None)
    return list(open_calls)


def _check_str(obj: dict[str, Any], key: str, param: str, required: bool = True) -> str | None:
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


def _check_message(raw: dict[str, Any], p: str) -> None:
    role = raw.get("role")
    if role not in _MESSAGE_ROLES:
        raise bad_request(
            f"Invalid value: {role!r}. Supported values are: {', '.join(repr(x) for x in _MESSAGE_ROLES)}.",
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
            f"Invalid type for '{p}.content': expected a string or an array.", f"{p}.content", "invalid_type"
        )


def _normalize_item(raw: Any, i: int, name: str = "input") -> dict[str, Any]:
    p = f"{name}[{i}]"
    if not isinstance(raw, dict):
        raise bad_request(f"Invalid type for '{p}': expected an object.", p, "invalid_type")
    t = raw.get("type", "message" if "role" in raw else None)
    if not isinstance(t, str) or t not in INPUT_ITEM_TYPES:
        raise bad_request(
            f"Invalid value: {t!r}. Supported values are: {', '.join(repr(x) for x in sorted(INPUT_ITEM_TYPES))}.",
            f"{p}.type",
            "invalid_value",
        )
    if t == "message":
        _check_message(raw, p)
        return {**raw, "type": "message"}
    for key in INPUT_ITEM_TYPES[t]:
        if key not in raw and not (t == "reasoning" and key == "id" and "encrypted_content" in raw):
            # (the spec requires a reasoning item's id, but OpenAI takes one without it that carries its
            # encrypted_content: a store=false client such as opencode resends its reasoning so)
            raise bad_request(
                f"Missing required parameter: '{p}.{key}'.", f"{p}.{key}", "missing_required_parameter"
            )
    for key in _STRING_FIELDS.get(t, ()):
        _check_str(raw, key, f"{p}.{key}")
    if t in _OUTPUT_CALL and not isinstance(raw.get("output"), str | list):
        raise bad_request(
            f"Invalid type for '{p}.output': expected a string or an array.", f"{p}.output", "invalid_type"
        )
    if t == "reasoning":
        if not isinstance(raw.get("summary"), list):
            raise bad_request(
                f"Invalid type for '{p}.summary': expected an array.", f"{p}.summary", "invalid_type"
            )
        _check_str(raw, "encrypted_content", f"{p}.encrypted_content", required=False)
    return raw


def _choice(body: dict[str, Any], key: str, param: str, allowed: tuple[str, ...]) -> str | None:
    v = body.get(key)
    if v is None:
        return None
    if v not in allowed:
        raise bad_request(
            f"Invalid value: {v!r}. Supported values are: {', '.join(repr(x) for x in allowed)}.",
            param,
            "invalid_value",
        )
    return str(v)


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    v = body.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise bad_request(f"Invalid type for '{key}': expected an object.", key, "invalid_type")
    return v


TEXT_FORMATS = ("text", "json_schema", "json_object")


def _text_format(fmt: Any, param: str) -> dict[str, Any] | None:
    """A structured output's format (Responses ``text.format``), checked as OpenAI checks it: a
    json_schema format names itself and carries its schema (an object)."""
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in TEXT_FORMATS:
        kind = fmt.get("type") if isinstance(fmt, dict) else fmt
        raise bad_request(
            f"Invalid value: {kind!r}. Supported values are: {', '.join(repr(t) for t in TEXT_FORMATS)}.",
            f"{param}.type",
            "invalid_value",
        )
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("name"), str):
            raise bad_request(
                f"Missing required parameter: '{param}.name'.", f"{param}.name", "missing_required_parameter"
            )
        if not isinstance(fmt.get("schema"), dict):
            raise bad_request(
                f"Missing required parameter: '{param}.schema'.",
                f"{param}.schema",
                "missing_required_parameter",
            )
    return fmt


def _chat_response_format(fmt: Any) -> dict[str, Any] | None:
    """Chat's ``response_format`` in the Responses API's ``text.format`` shape (what the engine reads)."""
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        inner = fmt.get("json_schema")
        if not isinstance(inner, dict):
            raise bad_request(
                "Missing required parameter: 'response_format.json_schema'.",
                "response_format.json_schema",
                "missing_required_parameter",
            )
        return _text_format({"type": "json_schema", **inner}, "response_format.json_schema")
    return _text_format(fmt, "response_format")


def _client_metadata(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("client_metadata")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise bad_request(
            "Invalid 'client_metadata': expected an object of string values.",
            "client_metadata",
            "invalid_type",
        )
    return {k: v for k, v in raw.items() if len(v) <= CLIENT_METADATA_VALUE_MAX}  # longer ones: dropped


def parse_create(body: Any, *, websocket: bool) -> CreateRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_json")
    _check_fields(body, websocket)
    model = _check_str(body, "model", "model")
    assert model is not None
    instructions = _check_str(body, "instructions", "instructions", required=False)
    prev = _check_str(body, "previous_response_id", "previous_response_id", required=False)
    items = _input_items(body.get("input", []))
    tools = _tool_list(body.get("tools") or [])
    store = _bool(body, "store", True)
    stream = _bool(body, "stream", False)
    generate = _bool(body, "generate", True)
    parallel = _optional_bool(body, "parallel_tool_calls")
    metadata = _metadata(body.get("metadata") or {})
    max_out = _max_output_tokens(body.get("max_output_tokens"))
    stream_id = _stream_id(body.get("stream_id"))
    include = _include(body.get("include") or [])
    reasoning = _object(body, "reasoning")
    text = _object(body, "text")
    obfuscation = _obfuscation(_object(body, "stream_options"))
    cache_key = _check_str(body, "prompt_cache_key", "prompt_cache_key", required=False)
    conversation = _conversation(body.get("conversation"), prev)

    item_parts = [dumps_utf8(item) for item in items]
    sizes = {
        "instructions": len(instructions.encode()) if instructions else 0,
        "tools": len(dumps_utf8(tools)) if tools else 0,
        # the items as one JSON array: each item, a comma between two, the brackets
        "input": sum(map(len, item_parts)) + len(item_parts) + 1 if items else 0,
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
        include=tuple(include),
        reasoning_effort=_choice(reasoning, "effort", "reasoning.effort", REASONING_EFFORTS),
        reasoning_summary=_choice(reasoning, "summary", "reasoning.summary", SUMMARIES),
        verbosity=_choice(text, "verbosity", "text.verbosity", VERBOSITIES),
        text_format=_text_format(text.get("format"), "text.format"),
        tool_choice=body.get("tool_choice"),
        parallel_tool_calls=parallel,
        prompt_cache_key=cache_key,
        client_metadata=_client_metadata(body),
        obfuscation=obfuscation,
        item_parts=item_parts,
        conversation=conversation,
    )


def _conversation(raw: Any, previous_response_id: str | None) -> str | None:
    """``conversation``: its id, given as a string or as ``{"id": ...}``. It and previous_response_id
    exclude each other; OpenAI's answer is quoted as it comes (its parameter names abbreviated so)."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        cid = _check_str(raw, "id", "conversation.id")
    elif isinstance(raw, str):
        cid = raw
    else:
        raise bad_request(
            f"Invalid type for 'conversation': expected one of a string or an object, but got "
            f"{_json_kind(raw)} instead.",
            "conversation",
            "invalid_type",
        )
    if previous_response_id is not None:
        raise bad_request(
            "Mutually exclusive parameters: ''. Ensure you are only providing one of: 'pre..._id' or "
            "'conversation'.",
            None,
            "mutually_exclusive_parameters",
        )
    return cid


def _json_kind(v: Any) -> str:
    """A JSON value's kind as OpenAI's type errors name it."""
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a decimal"
    return "an array" if isinstance(v, list) else "an object" if isinstance(v, dict) else "a string"


def _check_fields(body: dict[str, Any], websocket: bool) -> None:
    """The envelope: a WebSocket message is a ``response.create`` (not in the background), an HTTP
    body carries none of WebSocket mode's own fields, and neither an unknown one."""
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
        for key in sorted(_WEBSOCKET_ONLY):
            if key in body:
                raise bad_request(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
    unknown = sorted(set(body) - (_WEBSOCKET_FIELDS if websocket else _HTTP_FIELDS))
    if unknown:
        raise bad_request(f"Unknown parameter: '{unknown[0]}'.", unknown[0], "unknown_parameter")


def _input_items(raw_input: Any) -> list[dict[str, Any]]:
    """``input``: a string (one user message) or an array of items, each checked and normalized."""
    if isinstance(raw_input, str):
        return [{"type": "message", "role": "user", "content": raw_input}]
    if isinstance(raw_input, list):
        return input_items(raw_input)
    raise bad_request("Invalid type for 'input': expected a string or an array.", "input", "invalid_type")


def input_items(raw: list[Any], name: str = "input") -> list[dict[str, Any]]:
    """An array of input items (a response's ``input``, a conversation's ``items``), each checked and
    normalized; errors name each as ``name[i]``."""
    return [_normalize_item(x, i, name) for i, x in enumerate(raw)]


def _tool_list(tools: Any) -> list[Any]:
    """``tools``: objects with a type; function and custom tools have a name."""
    if not isinstance(tools, list) or not all(
        isinstance(t, dict) and isinstance(t.get("type"), str) for t in tools
    ):
        raise bad_request(
            "Invalid type for 'tools': expected an array of tool objects.", "tools", "invalid_type"
        )
    for i, t in enumerate(tools):
        if t["type"] in ("function", "custom"):
            _check_str(t, "name", f"tools[{i}].name")
    return tools


def _optional_bool(body: dict[str, Any], key: str) -> bool | None:
    v = body.get(key)
    if v is not None and not isinstance(v, bool):
        raise bad_request(f"Invalid type for '{key}': expected a boolean.", key, "invalid_type")
    return v


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    v = _optional_bool(body, key)
    return default if v is None else v


def _metadata(metadata: Any) -> dict[str, str]:
    """``metadata``: at most 16 string keys (64 characters) with string values (512 characters)."""
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
    return metadata


def _max_output_tokens(max_out: Any) -> int | None:
    if max_out is not None and (isinstance(max_out, bool) or not isinstance(max_out, int) or max_out < 16):
        raise bad_request(
            "Invalid 'max_output_tokens': expected an integer of 16 or more.",
            "max_output_tokens",
            "invalid_value",
        )
    return max_out


def _stream_id(stream_id: Any) -> str | None:
    if stream_id is not None and (not isinstance(stream_id, str) or not STREAM_ID_RE.match(stream_id)):
        raise ApiError(
            400,
            "Invalid 'stream_id': must match ^[A-Za-z0-9_.-]{1,256}$.",
            "invalid_request_error",
            "invalid_stream_id",
            "stream_id",
        )
    return stream_id


def _include(include: Any) -> list[str]:
    if not isinstance(include, list) or not all(isinstance(x, str) for x in include):
        raise bad_request(
            "Invalid type for 'include': expected an array of strings.", "include", "invalid_type"
        )
    return include


def _obfuscation(options: dict[str, Any]) -> bool:
    """``stream_options.include_obfuscation``: on unless false."""
    obfuscation = options.get("include_obfuscation", True)
    if not isinstance(obfuscation, bool):
        raise bad_request(
            "Invalid type for 'stream_options.include_obfuscation': expected a boolean.",
            "stream_options.include_obfuscation",
            "invalid_type",
        )
    return obfuscation


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
    reasoning_effort: str | None = None
    obfuscation: bool = True
    prompt_cache_key: str | None = None
    parallel_tool_calls: bool | None = None
    text_format: dict[str, Any] | None = None  # response_format, in text.format's shape

    def responses_tools(self) -> list[dict[str, Any]]:
        """The function tools in the Responses API's flat shape (what the tool planner reads)."""
        out = []
        for t in self.tools:
            fn = t.get("function") if isinstance(t, dict) and t.get("type") == "function" else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                out.append({"type": "function", "name": fn["name"], "parameters": fn.get("parameters"),
                            "strict": bool(fn.get("strict"))})  # fmt: skip
        return out

    def prompt_parts(self) -> list[bytes]:
        """The prompt in order (tools, then each message): what a prompt cache matches prefixes of."""
        return ([dumps_utf8(self.tools)] if self.tools else []) + [dumps_utf8(m) for m in self.messages]


def _check_tool_replies(messages: list[dict[str, Any]]) -> None:
    """OpenAI's rule: an assistant message with tool_calls is followed by one tool message for each
    tool_call_id, before any other message."""
    for i, m in enumerate(messages):
        calls = m.get("tool_calls") if m.get("role") == "assistant" else None
        if not calls:
            continue
        if not isinstance(calls, list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) for c in calls
        ):
            raise bad_request(
                f"Invalid type for 'messages[{i}].tool_calls': expected an array of tool calls with ids.",
                f"messages[{i}].tool_calls",
                "invalid_type",
            )
        waiting = [c["id"] for c in calls]
        j = i + 1
        while j < len(messages) and messages[j].get("role") == "tool":
            tid = messages[j].get("tool_call_id")
            if tid in waiting:
                waiting.remove(tid)
            j += 1
        if waiting:
            raise bad_request(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(waiting)}",
                f"messages.[{i}].role",
            )


def parse_chat(body: Any, task_header: str | None = None) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_json")
    unknown = sorted(set(body) - CHAT_FIELDS)
    if unknown:
        raise bad_request(
            f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter"
        )
    model = body.get("model")
    if not isinstance(model, str):
        raise bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in CHAT_ROLES:
            raise bad_request(
                f"Invalid value for 'messages[{i}].role'. Supported values are: "
                f"{', '.join(repr(r) for r in CHAT_ROLES)}.",
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
    _check_tool_replies(messages)
    task = metadata.get(TASK_METADATA_KEY) or task_header
    if "max_tokens" in body and model_info(model).reasons:  # as OpenAI answers it for gpt-5.x and o-series
        raise bad_request(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    max_out = body.get("max_completion_tokens", body.get("max_tokens"))
    obfuscation = opts.get("include_obfuscation", True) if isinstance(opts, dict) else True
    cache_key = body.get("prompt_cache_key")
    parallel = body.get("parallel_tool_calls")
    return ChatRequest(
        model=model,
        messages=messages,
        tools=tools,
        stream=stream,
        include_usage=include_usage,
        task=task if isinstance(task, str) else None,
        prompt_tokens=estimate_tokens(len(dumps_utf8(messages)) + (len(dumps_utf8(tools)) if tools else 0)),
        max_tokens=max_out if isinstance(max_out, int) and not isinstance(max_out, bool) else None,
        reasoning_effort=_choice(body, "reasoning_effort", "reasoning_effort", REASONING_EFFORTS),
        obfuscation=obfuscation is not False,
        prompt_cache_key=cache_key if isinstance(cache_key, str) else None,
        parallel_tool_calls=parallel if isinstance(parallel, bool) else None,
        text_format=_chat_response_format(body.get("response_format")),
    )
