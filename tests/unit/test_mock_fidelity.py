"""The mock's request parser follows OpenAI's spec, and the fidelity pieces (#20) it builds on.

The Codex-shaped body is the field set Codex CLI 0.171 was seen to send (../shared/DESIGN.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentload.mock import openapi
from agentload.mock.errors import ApiError
from agentload.mock.models import encrypted_size, model_info
from agentload.mock.openapi_gen import generate
from agentload.mock.prompt_cache import BLOCK_BYTES, MIN_TOKENS, PromptCache, scope_of
from agentload.mock.requests import CLIENT_METADATA_VALUE_MAX, parse_chat, parse_create
from agentload.mock.tools import EMPTY_PATCH, READ_ONLY_COMMANDS, plan_calls
from tests.paths import ROOT

SPEC = ROOT.parent / "shared" / "openapi" / "openapi.yaml.gz"

EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}, "yield_time_ms": {"type": "number"}},
        "required": ["cmd"],
    },
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edits files.",
    "format": {"type": "grammar"},
}
ASK = {"type": "function", "name": "request_user_input", "parameters": {"type": "object", "properties": {}}}


def codex_body(**extra: object) -> dict:
    body = {
        "model": "gpt-5.1-codex",
        "instructions": "You are a coding agent.",
        "input": [
            {
                "type": "message",
                "id": "m1",
                "role": "developer",
                "content": [{"type": "input_text", "text": "rules"}],
            },
            {
                "type": "message",
                "id": "m2",
                "role": "user",
                "content": [{"type": "input_text", "text": "list files"}],
            },
        ],
        "tools": [EXEC, PATCH, ASK, {"type": "web_search"}],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0199-thread",
        "client_metadata": {
            "x-codex-turn-metadata": "x" * 1200,
            "huge": "y" * (CLIENT_METADATA_VALUE_MAX + 1),
        },
    }
    body.update(extra)
    return body


@pytest.mark.skipif(not SPEC.exists(), reason=f"no spec copy at {SPEC}")
def test_generated_module_is_current() -> None:
    """mock/openapi.py is what the generator makes of the spec copy in shared/ (regenerate when this fails)."""
    import subprocess
    import sys

    out = generate(SPEC)
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", openapi.__file__, "-"],
        input=out,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert formatted == Path(openapi.__file__).read_text()


def test_codex_request_parses() -> None:
    req = parse_create(codex_body(), websocket=False)
    assert req.include == ("reasoning.encrypted_content",)
    assert req.reasoning_summary == "auto" and req.reasoning_effort is None
    assert req.prompt_cache_key == "0199-thread" and req.store is False
    assert list(req.client_metadata) == ["x-codex-turn-metadata"]  # the over-long value is dropped
    ws = parse_create(codex_body(type="response.create", generate=False), websocket=True)
    assert ws.generate is False


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"frobnicate": 1}, "frobnicate"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"generate": False}, "generate"),  # WebSocket-only over HTTP
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"client_metadata": {"k": 1}}, "client_metadata"),
    ],
)
def test_bad_requests_name_the_param(change: dict, param: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_create(codex_body(**change), websocket=False)
    assert err.value.status == 400
    assert err.value.param == param


def test_every_spec_item_type_is_accepted_with_its_required_fields() -> None:
    for item_type, required in openapi.INPUT_ITEM_TYPES.items():
        item = {"type": item_type, **{k: "x" for k in required}}
        if "role" in required:
            item["role"] = "user"
        try:
            parse_create({"model": "m", "input": [item]}, websocket=False)
        except (
            ApiError
        ) as e:  # a field the spec types as other than a string: refused by name, not crashed on
            assert e.status == 400 and e.param and e.param.startswith("input[0]"), (item_type, e.message)


def test_chat_refuses_unknown_fields_and_roles() -> None:
    ok = parse_chat(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "low"}
    )
    assert ok.reasoning_effort == "low"
    for body, param in (
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "nope": 1}, "nope"),
        ({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
    ):
        with pytest.raises(ApiError) as err:
            parse_chat(body)
        assert err.value.param == param


def test_prompt_cache_hits_the_repeated_prefix_in_blocks() -> None:
    now = [0.0]
    cache = PromptCache(ttl_s=300, clock=lambda: now[0])
    scope = scope_of("key-a", "thread-1")
    prefix = [b"t" * (BLOCK_BYTES * 10)]
    assert cache.cached_tokens(scope, prefix) == 0  # first sight
    grown = prefix + [b"u" * (BLOCK_BYTES * 3 + 7)]
    assert cache.cached_tokens(scope, grown) == 10 * 128  # the resent prefix, whole blocks only
    assert cache.cached_tokens(scope_of("key-b", "thread-1"), grown) == 0  # another organisation's key
    short = [b"s" * (BLOCK_BYTES * 4)]
    cache.cached_tokens(scope, short)
    assert cache.cached_tokens(scope, short) == 0  # under the 1,024-token minimum
    assert MIN_TOKENS == 1024
    now[0] = 301.0
    assert cache.cached_tokens(scope, grown) == 0  # expired


def test_prompt_cache_memory_is_bounded() -> None:
    cache = PromptCache(max_blocks=50)
    for i in range(20):
        cache.cached_tokens(scope_of("k", str(i)), [b"z" * (BLOCK_BYTES * 10)])
    assert cache.snapshot()["blocks"] <= 50


def test_planned_calls_use_the_declared_tools() -> None:
    calls = plan_calls([ASK, PATCH, EXEC, {"type": "web_search"}], n=2, seed="s", turn=0)
    assert calls[0].name == "exec_command"
    assert json.loads(calls[0].arguments)["cmd"] in READ_ONLY_COMMANDS
    assert all(c.name != "request_user_input" for c in calls)
    patch = [c for c in plan_calls([PATCH], n=1, seed="s", turn=1)]
    assert patch[0].custom and patch[0].arguments == EMPTY_PATCH
    assert plan_calls([ASK, {"type": "web_search"}], n=1, seed="s", turn=0) == []
    assert plan_calls([EXEC], 1, "s", 3) == plan_calls([EXEC], 1, "s", 3)  # seeded: same task, same calls


def test_reasoning_models_and_encrypted_size() -> None:
    assert model_info("gpt-5.1-codex").reasoning_tokens(None) > 0
    assert model_info("gpt-5.1-codex").reasoning_tokens("high") > model_info("o3").reasoning_tokens("low")
    assert model_info("gpt-4.1").reasoning_tokens("high") == 0
    assert model_info("gpt-5-chat-latest").reasons is False
    assert encrypted_size(256) % 4 == 0 and encrypted_size(512) > encrypted_size(256)
