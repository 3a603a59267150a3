"""The mock's request parser follows OpenAI's spec, and the fidelity pieces (#20) it builds on.

The Codex-shaped body is the field set Codex CLI 0.171 was seen to send (../shared/DESIGN.md).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from agentload.core.deflate import TAIL, MessageDeflate
from agentload.core.protocol import REASONING_EFFORTS
from agentload.core.websocket import OP_TEXT, WsCodec
from agentload.mock import openapi
from agentload.mock.chat import chat_chunks
from agentload.mock.config import LatencyModel, MockConfig
from agentload.mock.engine import Engine, Generation
from agentload.mock.errors import ApiError
from agentload.mock.models import REASONING_TOKENS, encrypted_size, model_info
from agentload.mock.openapi_gen import generate
from agentload.mock.prompt_cache import BLOCK_BYTES, MIN_TOKENS, PromptCache, reported, scope_of
from agentload.mock.requests import CLIENT_METADATA_VALUE_MAX, parse_chat, parse_create
from agentload.mock.tools import EMPTY_PATCH, READ_ONLY_COMMANDS, plan_calls
from agentload.workload import TASKS_DIR, load_task
from tests.paths import ROOT

# the repository's own copy of the spec (its README.md says which, from where, and how to regenerate)
SPEC = ROOT / "tests" / "fixtures" / "openai" / "openapi.yaml.gz"

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


def codex_body(**extra: object) -> dict[str, Any]:
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


def test_generated_module_is_current() -> None:
    """mock/openapi.py is what the generator makes of the repository's spec copy (regenerate when this
    fails: tests/fixtures/openai/README.md)."""
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
def test_bad_requests_name_the_param(change: dict[str, Any], param: str) -> None:
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
    # every effort a request may ask for (core.protocol, the one list) has its reasoning budget
    assert tuple(REASONING_TOKENS) == REASONING_EFFORTS


# --- the engine's answers (agentload.mock.engine), in process ------------------------------------


def _engine(**config: object) -> Engine:
    return Engine(MockConfig(latency=LatencyModel(ttft_ms=100, output_tps=100), **config))  # type: ignore[arg-type]


def _events(gen: Generation) -> list[dict[str, Any]]:
    return [e for _, e in gen.events()]


def test_reasoning_item_comes_first_with_encrypted_content_and_summary() -> None:
    gen = _engine().start(parse_create(codex_body(), websocket=False), None)
    out = gen.final_response()["output"]
    assert out[0]["type"] == "reasoning" and out[0]["summary"][0]["text"]
    assert out[0]["encrypted_content"].startswith("gAAAAA")
    assert len(out[0]["encrypted_content"]) == encrypted_size(gen.reasoning_tokens)
    usage = gen.usage
    assert usage["output_tokens_details"]["reasoning_tokens"] == gen.reasoning_tokens == 256  # medium
    assert usage["output_tokens"] > gen.reasoning_tokens
    types = [e["type"] for e in _events(gen)]
    assert types[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
    # the first visible delta waits for the reasoning: prefill, then 256 tokens at 100 a second
    first = next(t for t, e in gen.events() if e["type"] == "response.function_call_arguments.delta")
    assert first == pytest.approx(gen.ttft_s + 2.56)
    # without include, no encrypted content; effort none, or a model that does not reason: no item
    plain = _engine().start(parse_create(codex_body(include=[]), websocket=False), None)
    assert "encrypted_content" not in plain.final_response()["output"][0]
    for body in (codex_body(reasoning={"effort": "none"}), codex_body(model="gpt-4.1")):
        gen = _engine().start(parse_create(body, websocket=False), None)
        assert gen.final_response()["output"][0]["type"] != "reasoning" and gen.reasoning_tokens == 0


def test_the_clients_tools_are_called_and_custom_calls_stream_as_openai_streams_them() -> None:
    body = codex_body(tools=[PATCH], parallel_tool_calls=True)
    gen = _engine().start(parse_create(body, websocket=False), None)
    calls = [o for o in gen.final_response()["output"] if o["type"] != "reasoning"]
    assert calls and all(c["type"] == "custom_tool_call" and c["input"] == EMPTY_PATCH for c in calls)
    events = _events(gen)
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta"
                     and e["item_id"] == calls[0]["id"])  # fmt: skip
    assert deltas == EMPTY_PATCH
    assert any(
        e["type"] == "response.custom_tool_call_input.done" and e["input"] == EMPTY_PATCH for e in events
    )
    # parallel_tool_calls false: one call a turn; every delta padded unless include_obfuscation is false
    gen = _engine().start(parse_create(codex_body(), websocket=False), None)
    calls = [o for o in gen.final_response()["output"] if o["type"] == "function_call"]
    assert len(calls) == 1 and calls[0]["name"] == "exec_command"
    assert json.loads(calls[0]["arguments"])["cmd"] in READ_ONLY_COMMANDS
    done = [e for e in _events(gen) if e["type"] == "response.function_call_arguments.done"]
    assert done and done[0]["name"] == "exec_command"
    delta_events = [e for e in _events(gen) if e["type"].endswith(".delta")]
    assert delta_events and all((len(e["delta"]) + len(e["obfuscation"])) % 16 == 0 for e in delta_events)
    quiet = parse_create(codex_body(stream_options={"include_obfuscation": False}), websocket=False)
    assert not [e for e in _events(_engine().start(quiet, None)) if "obfuscation" in e]


def test_the_response_echoes_the_requests_fields() -> None:
    body = codex_body(text={"verbosity": "low"}, tool_choice="required", reasoning={"effort": "high"})
    r = _engine().start(parse_create(body, websocket=False), None).final_response()
    assert r["reasoning"] == {"effort": "high", "summary": None}
    assert (r["text"]["verbosity"], r["tool_choice"], r["parallel_tool_calls"]) == ("low", "required", False)
    assert r["prompt_cache_key"] == "0199-thread" and r["completed_at"] >= r["created_at"]


def test_a_stateless_resend_of_a_long_prefix_is_cached_and_starts_sooner() -> None:
    engine = _engine()
    long = codex_body(instructions="x" * (MIN_TOKENS * 4 * 3))
    first = engine.start(parse_create(long, websocket=False), None, "key-a")
    again = engine.start(parse_create(long, websocket=False), None, "key-a")
    assert first.usage["input_tokens_details"]["cached_tokens"] == 0
    cached = again.usage["input_tokens_details"]["cached_tokens"]
    assert cached >= MIN_TOKENS and cached % 128 == 0 and again.ttft_s < first.ttft_s
    other_key = engine.start(parse_create(long, websocket=False), None, "key-b")
    assert other_key.usage["input_tokens_details"]["cached_tokens"] == 0  # per organisation
    off = _engine(prompt_cache=False)
    off.start(parse_create(long, websocket=False), None)
    assert (
        off.start(parse_create(long, websocket=False), None).usage["input_tokens_details"]["cached_tokens"]
        == 0
    )


def test_an_unknown_task_is_a_400_naming_it_and_a_task_file_is_found_by_its_name(tmp_path: Path) -> None:
    body = {"model": "gpt-5.4", "input": "go", "metadata": {"agentload_task": "mine"}}
    with pytest.raises(ApiError) as e:
        _engine().start(parse_create(body, websocket=False), None)
    assert e.value.status == 400 and e.value.code == "unknown_task" and "--task FILE" in e.value.message
    src = (TASKS_DIR / "fix-failing-test.yaml").read_text().replace("name: fix-failing-test", "name: mine")
    (tmp_path / "t.yaml").write_text(src)
    (tmp_path / "_coding_agent.yaml").write_text((TASKS_DIR / "_coding_agent.yaml").read_text())
    gen = _engine(task_files=(tmp_path / "t.yaml",)).start(parse_create(body, websocket=False), None)
    assert [c.name for c in gen.plan.calls] == [c.tool for c in load_task("fix-failing-test").turns[0].calls]


def test_chat_chunks_carry_usage_null_a_fingerprint_and_no_reasoning() -> None:
    chat = parse_chat(
        {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}], "stream": True,
         "stream_options": {"include_usage": True}},
    )  # fmt: skip
    gen = _engine().start_chat(chat)
    chunks = [c for _, c in chat_chunks(gen, "chatcmpl-1", 0, True)]
    assert (
        all(c["usage"] is None for c in chunks[:-1])
        and chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == gen.reasoning_tokens > 0
    )
    assert all(c["system_fingerprint"].startswith("fp_") for c in chunks)
    assert chunks[0]["choices"][0]["delta"].get("tool_calls", [{}])[0].get("index", 0) == 0


def test_deflate_frames_inflate_back_with_context_takeover() -> None:
    # the server's codec as mock.ws makes it when the client offered permessage-deflate
    codec = WsCodec(client=False, deflate=MessageDeflate(15, no_context_takeover=False))
    inflate = zlib.decompressobj(-15)
    sizes = []
    for _ in range(3):
        payload = json.dumps(
            {"type": "response.output_text.delta", "delta": "hello", "x": "y" * 300}
        ).encode()
        frame = codec.send(OP_TEXT, payload)
        assert frame[0] == 0xC1  # FIN, RSV1 (compressed), text
        n = frame[1] & 0x7F
        body = frame[2:] if n < 126 else frame[4:]
        assert inflate.decompress(body + TAIL) == payload
        sizes.append(len(frame))
    assert sizes[2] < sizes[0]  # later messages refer back to earlier ones


def test_tools_resent_on_a_continuation_replace_the_held_ones() -> None:
    """Codex resends its tools with every previous_response_id: the prompt holds them once, and the
    unchanged earlier prompt is a cached prefix; a continuation without them keeps the held ones."""
    engine = _engine()
    long_prompt = [{"type": "message", "role": "user", "content": "Fix the failing test. " * 300}]
    first = engine.start(parse_create(codex_body(input=long_prompt), websocket=False), None)
    state = engine.finish(first)
    assert reported(state.context_tokens) > 0  # (past the 1,024 tokens below which nothing is cached)
    calls = [c.call_id for c in first.plan.calls]
    outputs = [{"type": "function_call_output", "call_id": c, "output": "ok"} for c in calls]
    items_tokens = parse_create(codex_body(input=outputs), websocket=False).raw_sizes["input"] // 4
    resent = engine.start(
        parse_create(codex_body(input=outputs, previous_response_id=state.id), websocket=False), state
    )
    grown = resent.usage["input_tokens"] - state.context_tokens
    assert 0 < grown <= items_tokens + 1, (grown, items_tokens)
    assert resent.usage["input_tokens_details"]["cached_tokens"] == reported(state.context_tokens)
    bare = {"model": "gpt-5.1-codex", "input": outputs, "previous_response_id": state.id, "store": False}
    kept = engine.start(parse_create(bare, websocket=False), state)
    assert kept.usage["input_tokens"] == resent.usage["input_tokens"]
    changed = codex_body(
        input=outputs, previous_response_id=state.id, instructions="Other rules, longer ones." * 20
    )
    assert (
        engine.start(parse_create(changed, websocket=False), state).usage["input_tokens_details"][
            "cached_tokens"
        ]
        == 0
    )


def test_a_recorded_turns_message_comes_before_its_calls(tmp_path: Path) -> None:
    """A recorded model that says something beside its calls: the message item first, then the calls
    (after it in output_index); over chat, one assistant role chunk, the calls indexed from 0."""
    base = json.loads(
        json.dumps(__import__("yaml").safe_load((TASKS_DIR / "_coding_agent.yaml").read_text()))
    )
    doc = {"name": "said", "instructions": "i", "tools": base["tools"], "prompt": "p", "final_message": "done",
           "turns": [{"message": {"bytes": 40}, "calls": [{"tool": "read_file", "args": {"path": "a.py"}},
                                                          {"tool": "read_file", "args": {"path": "b.py"}}]}]}  # fmt: skip
    (tmp_path / "said.yaml").write_text(json.dumps(doc))
    engine = _engine(task_files=(tmp_path / "said.yaml",))
    body = {"model": "gpt-4.1", "input": "go", "metadata": {"agentload_task": "said"}, "stream": True}
    gen = engine.start(parse_create(body, websocket=False), None)
    out = gen.final_response()["output"]
    assert [o["type"] for o in out] == ["message", "function_call", "function_call"]
    assert len(out[0]["content"][0]["text"]) == 40
    added = [e for _, e in gen.events() if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "message"),
        (1, "function_call"),
        (2, "function_call"),
    ]
    chat = parse_chat(
        {"model": "gpt-4.1", "messages": [{"role": "user", "content": "go"}], "stream": True}, "said"
    )
    chunks = [c for _, c in chat_chunks(engine.start_chat(chat), "chatcmpl-1", 0, False)]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert sum("role" in d for d in deltas) == 1
    assert [tc["index"] for d in deltas for tc in d.get("tool_calls") or [] if "id" in tc] == [0, 1]
