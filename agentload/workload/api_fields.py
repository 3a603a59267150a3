"""Which request fields belong to which API, and how a field of one API is said in the other: a
recorded client's constant fields reach only requests of the API that has them (chat's ``max_tokens``
in a Responses request is a 400 at OpenAI, as is ``text`` in a chat request), and a recording made on
one API replays on the other with its meaning kept where the other API has one (a structured output's
``text.format`` is chat's ``response_format``).

The sets are OpenAI's OpenAPI spec's (``CreateResponse`` and ``CreateChatCompletionRequest``, with
their ``allOf`` parents); tests/unit/test_api_fields.py checks them against the vendored copy.
"""

from __future__ import annotations

from typing import Any

# the fields of one API that the other has not
RESPONSES_ONLY = frozenset({
    "background", "context_management", "conversation", "include", "input", "instructions",
    "max_output_tokens", "max_tool_calls", "previous_response_id", "prompt", "reasoning", "text",
    "truncation",
})  # fmt: skip
CHAT_ONLY = frozenset({
    "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "messages", "modalities", "n", "prediction",
    "presence_penalty", "reasoning_effort", "response_format", "seed", "stop", "verbosity",
    "web_search_options",
})  # fmt: skip
# the fields both have, with the same meaning and shape (tool_choice only as a string: a named
# function is written differently by each)
SHARED = frozenset({
    "metadata", "model", "moderation", "parallel_tool_calls", "prompt_cache_key", "prompt_cache_options",
    "prompt_cache_retention", "safety_identifier", "service_tier", "store", "stream", "stream_options",
    "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
})  # fmt: skip


def chat_to_responses(fields: dict[str, Any]) -> dict[str, Any]:
    """A chat request's constant fields as a Responses request says them; those it has no word for
    (``seed``, ``n``, penalties...) are left out."""
    out: dict[str, Any] = {}
    text: dict[str, Any] = {}
    for k, v in fields.items():
        if k in SHARED and (k != "tool_choice" or isinstance(v, str)):
            out[k] = v
        elif k in ("max_completion_tokens", "max_tokens"):
            out["max_output_tokens"] = v
        elif k == "verbosity":
            text["verbosity"] = v
        elif k == "response_format" and isinstance(v, dict):
            fmt = v.get("json_schema") if v.get("type") == "json_schema" else None
            text["format"] = {"type": "json_schema", **fmt} if isinstance(fmt, dict) else dict(v)
    if text:
        out["text"] = text
    return out


def responses_to_chat(fields: dict[str, Any]) -> dict[str, Any]:
    """A Responses request's constant fields as a chat request says them (the reverse of
    ``chat_to_responses``)."""
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if k in SHARED and (k != "tool_choice" or isinstance(v, str)):
            out[k] = v
        elif k == "max_output_tokens":
            out["max_completion_tokens"] = v
        elif k == "text" and isinstance(v, dict):
            if isinstance(v.get("verbosity"), str):
                out["verbosity"] = v["verbosity"]
            fmt = v.get("format")
            if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
                out["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {k2: v2 for k2, v2 in fmt.items() if k2 != "type"},
                }
            elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
                out["response_format"] = {"type": "json_object"}
    return out
