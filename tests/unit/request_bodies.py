"""Hypothesis strategies for request bodies, anything from well-formed to nonsense: what the mock's
request parser (tests/unit/test_request_fuzz.py) and the running mock (tests/e2e/test_reliability.py)
must answer with a 200 or an OpenAI-shaped 400, never a 500."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ("model", "input", "instructions", "tools", "store", "stream", "previous_response_id", "metadata")
ITEM_TYPES = [
    "message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output",
    "reasoning", "local_shell_call", "web_search_call", "compaction", "item_reference", "bogus",
]  # fmt: skip
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(ITEM_TYPES) | JSON,
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]) | JSON,
        "id": st.just("rs_1") | JSON,
        "content": JSON,
        "call_id": JSON,
        "name": JSON,
        "arguments": JSON,
        "input": JSON,
        "output": JSON,
        "summary": st.just([]) | JSON,
        "encrypted_content": st.just("gAAAAA") | JSON,
    },
)
# tools as clients declare them, with parameters of any shape (the mock's model calls them)
TOOL = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["function", "custom", "web_search"]),
        "name": st.sampled_from(["exec_command", "apply_patch", "x"]),
    },
    optional={"parameters": JSON, "strict": JSON, "format": JSON},
)
CREATE = st.fixed_dictionaries(
    {},
    optional={
        "model": st.just("gpt-5.4") | JSON,
        "input": st.text(max_size=30) | st.lists(ITEM, max_size=4) | JSON,
        "instructions": JSON,
        "tools": st.lists(TOOL | JSON, max_size=3) | JSON,
        "store": st.booleans() | JSON,
        "stream": st.booleans() | JSON,
        "previous_response_id": st.just("resp_unknown") | JSON,
        "metadata": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3) | JSON,
        "max_output_tokens": JSON,
        "stream_id": JSON,
        "generate": JSON,
        "include": st.just(["reasoning.encrypted_content"]) | JSON,
        "reasoning": st.fixed_dictionaries(
            {},
            optional={
                "effort": st.sampled_from(["low", "high", "x"]) | JSON,
                "summary": st.just("auto") | JSON,
            },
        )
        | JSON,
        "text": JSON,
        "tool_choice": JSON,
        "parallel_tool_calls": st.booleans() | JSON,
        "prompt_cache_key": JSON,
        "client_metadata": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3) | JSON,
        "stream_options": JSON,
        "moderation": JSON,
        "prompt_cache_retention": JSON,
    },
)
CHAT = st.fixed_dictionaries(
    {},
    optional={
        "model": st.just("gpt-5.4") | JSON,
        "messages": st.lists(ITEM | st.fixed_dictionaries({"role": JSON, "content": JSON}), max_size=4)
        | JSON,
        "stream": st.booleans() | JSON,
        "tools": JSON,
        "metadata": JSON,
        "stream_options": JSON,
        "max_tokens": JSON,
        "reasoning_effort": JSON,
        "parallel_tool_calls": JSON,
        "prompt_cache_key": JSON,
    },
)
BODY = (
    st.binary(max_size=64)
    | JSON.map(lambda v: json.dumps(v).encode())
    | CREATE.map(lambda v: json.dumps(v).encode())
)


def error_shape(body: dict[str, Any]) -> bool:
    """An error body as OpenAI sends one: message, type, param and code."""
    err = body.get("error")
    return (
        isinstance(err, dict)
        and isinstance(err.get("message"), str)
        and isinstance(err.get("type"), str)
        and set(err) >= {"message", "type", "param", "code"}
    )
