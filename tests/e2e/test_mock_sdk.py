"""The official openai SDK, unmodified, against the mock: every event it sends parses and validates.

Each event is parsed by the SDK itself and validated again, strictly, against the SDK's pydantic type
for that event (required fields, literal types); warnings are errors.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import openai
import pytest
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageParam,
)
from openai.types.responses import (
    FunctionToolParam,
    Response,
    ResponseFunctionToolCall,
    ResponseInputParam,
    ResponseStreamEvent,
)
from openai.types.responses.responses_server_event import ResponsesServerEvent
from pydantic import BaseModel, TypeAdapter

from agentload.mock import MockProcess
from agentload.mock.prompt_cache import reported

STREAM_EVENT = TypeAdapter(ResponseStreamEvent)
SERVER_EVENT = TypeAdapter(ResponsesServerEvent)
TOOLS: list[FunctionToolParam] = [
    {
        "type": "function",
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        "strict": False,
    }
]


# Fields OpenAI sends that this SDK's types do not declare: ``obfuscation`` on streamed deltas (the
# API reference's stream_options.include_obfuscation), ``name`` on arguments.done (the spec requires it).
SPEC_EXTRAS = {"response.function_call_arguments.done": {"name"}}


Event = TypeVar("Event", ResponseStreamEvent, ResponsesServerEvent)


def validated(adapter: TypeAdapter[Event], event: Event) -> Event:
    """Re-validate an SDK-parsed event strictly; no unknown top-level fields either, but the ones
    OpenAI's spec and reference have beyond the SDK's types."""
    obj = adapter.validate_python(event.model_dump(mode="json", exclude_unset=True))
    allowed = SPEC_EXTRAS.get(event.type, {"obfuscation"} if event.type.endswith(".delta") else set())
    extra = set(obj.model_extra or {}) - allowed
    assert not extra, f"unknown fields in {event.type}: {extra}"
    return obj


def calls_of(response: Response) -> list[ResponseFunctionToolCall]:
    return [o for o in response.output if o.type == "function_call"]


@pytest.fixture
def client(zero_mock: MockProcess) -> Iterator[openai.OpenAI]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield openai.OpenAI(base_url=f"{zero_mock.url}/v1", api_key="sk-test", max_retries=0)


def test_responses_streaming_every_event_validates(client: openai.OpenAI) -> None:
    with client.responses.create(
        model="gpt-5.4", input="Fix the failing test", tools=TOOLS, stream=True
    ) as s:
        events = list(s)
    types = [e.type for e in events]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for e in events:
        validated(STREAM_EVENT, e)
    last = events[-1]
    assert last.type == "response.completed"
    done = last.response
    assert done.usage is not None
    assert done.status == "completed" and len(done.output) == 4
    # gpt-5.4 reasons: its reasoning item comes first, then the calls of the declared tool
    assert done.output[0].type == "reasoning" and done.usage.output_tokens_details.reasoning_tokens > 0
    assert [item.name for item in calls_of(done)] == ["read_file"] * 3
    # (obfuscation and name: fields OpenAI sends that the SDK's types leave out, SPEC_EXTRAS)
    assert any(e.type == "response.function_call_arguments.delta" and e.obfuscation for e in events)  # type: ignore[attr-defined]
    assert all(e.name == "read_file" for e in events if e.type == "response.function_call_arguments.done")  # type: ignore[attr-defined]
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0


def test_responses_non_streaming_and_retrieve_stored(client: openai.OpenAI) -> None:
    r = client.responses.create(model="gpt-5.4", input="hello", tools=TOOLS, store=True)
    Response.model_validate(r.model_dump(mode="json"))
    assert r.output[0].type == "reasoning" and calls_of(r) and r.completed_at
    again = client.responses.retrieve(r.id)
    assert again.id == r.id and again.output == r.output
    # chained over HTTP from the stored response: its context is cached (its reasoning is not kept)
    outputs: ResponseInputParam = [
        {"type": "function_call_output", "call_id": c.call_id, "output": "ok"} for c in calls_of(r)
    ]
    r2 = client.responses.create(model="gpt-5.4", previous_response_id=r.id, input=outputs, store=True)
    u = r.usage
    assert u is not None and r2.usage is not None
    held = u.total_tokens - u.output_tokens_details.reasoning_tokens
    assert r2.usage.input_tokens_details.cached_tokens == reported(held)  # whole 128-token blocks, from 1,024


def test_http_error_shapes(client: openai.OpenAI, zero_mock: MockProcess) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="gpt-5.4", input="x", previous_response_id="resp_unknown")
    assert e.value.code == "previous_response_not_found" and e.value.param == "previous_response_id"
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="gpt-5.4", input=[{"type": "bogus"}])  # type: ignore[list-item,misc]  # (no input item, on purpose)
    assert e.value.param == "input[0].type"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_missing")


def test_websocket_ten_turn_conversation_with_store_false(client: openai.OpenAI) -> None:
    """responses.connect(): a 10-turn tool-calling conversation continued by previous_response_id."""
    all_events: list[ResponsesServerEvent] = []
    with client.responses.connect() as conn:
        prev = None
        new_input: ResponseInputParam = [
            {"type": "message", "role": "user", "content": "Refactor the API layer"}
        ]
        last: Response | None = None
        for turn in range(11):
            kwargs: dict[str, Any] = {"model": "gpt-5.4", "store": False, "input": new_input}
            if prev is None:
                kwargs["tools"] = TOOLS
            else:
                kwargs["previous_response_id"] = prev
            conn.response.create(**kwargs)
            for event in conn:
                all_events.append(event)
                validated(SERVER_EVENT, event)
                if event.type == "response.completed":
                    break
                assert event.type != "error", event
            assert event.type == "response.completed"
            resp = event.response
            assert resp.usage is not None
            if turn > 0:  # the context the connection holds, reported as the prompt cache reports it
                assert last is not None and last.usage is not None
                held = last.usage.total_tokens - last.usage.output_tokens_details.reasoning_tokens
                assert resp.usage.input_tokens_details.cached_tokens == reported(held)
            last = resp
            prev = resp.id
            calls = calls_of(resp)
            if turn < 10:
                assert len(calls) == 3
            else:
                assert not calls and resp.output[-1].type == "message"
            new_input = [
                {"type": "function_call_output", "call_id": c.call_id, "output": "x" * 200} for c in calls
            ]
    assert sum(1 for e in all_events if e.type == "response.completed") == 11


def test_websocket_previous_response_not_found_and_warmup(client: openai.OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="gpt-5.4", store=False, input="hi", previous_response_id="resp_nope")
        event = conn.recv()
        validated(SERVER_EVENT, event)
        assert event.type == "error" and event.status == 400
        assert event.error.code == "previous_response_not_found"
        assert event.error.param == "previous_response_id"
        # warm-up: generate=false prepares state and gives an id to chain from, with no output
        conn.response.create(model="gpt-5.4", store=False, input="Fix the bug", tools=TOOLS, generate=False)
        events: list[ResponsesServerEvent] = []
        for ev in conn:
            events.append(validated(SERVER_EVENT, ev))
            if ev.type == "response.completed":
                break
        warm = events[-1]
        assert warm.type == "response.completed"
        assert warm.response.output == []
        conn.response.create(model="gpt-5.4", store=False, input=[], previous_response_id=warm.response.id)
        for ev in conn:
            validated(SERVER_EVENT, ev)
            if ev.type in ("response.completed", "error"):
                break
        assert ev.type == "response.completed" and calls_of(ev.response)
        # an older id than the latest is gone with store=false
        conn.response.create(model="gpt-5.4", store=False, input=[], previous_response_id=warm.response.id)
        ev = conn.recv()
        assert ev.type == "error" and ev.error.code == "previous_response_not_found"


def test_chat_completions_streaming_and_not(client: openai.OpenAI) -> None:
    params: dict[str, object] = {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    }
    tools: list[ChatCompletionFunctionToolParam] = [
        {"type": "function", "function": {"name": "read_file", "parameters": params}}
    ]
    msgs: list[ChatCompletionMessageParam] = [{"role": "user", "content": "fix it"}]
    chunks = list(
        client.chat.completions.create(
            model="gpt-5.4", messages=msgs, tools=tools, stream=True, stream_options={"include_usage": True}
        )
    )
    for c in chunks:
        ChatCompletionChunk.model_validate(c.model_dump(mode="json"))
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert usage.prompt_tokens > 0 and reasoning is not None and reasoning > 0
    fingerprint = chunks[0].system_fingerprint
    assert (
        all(c.usage is None for c in chunks[:-1])
        and fingerprint is not None
        and fingerprint.startswith("fp_")
    )
    calls: dict[int, dict[str, str]] = {}
    for c in chunks:
        for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            d = calls.setdefault(tc.index, {"args": ""})
            if tc.id:
                d["id"] = tc.id
            assert tc.function is not None
            d["args"] += tc.function.arguments or ""
    assert len(calls) == 3 and all(json.loads(d["args"])["path"] for d in calls.values())
    full = client.chat.completions.create(model="gpt-5.4", messages=msgs, tools=tools)
    ChatCompletion.model_validate(full.model_dump(mode="json"))
    tool_calls = full.choices[0].message.tool_calls
    assert tool_calls is not None
    assert [tc.id for tc in tool_calls] == [calls[i]["id"] for i in range(3)]


def test_api_key_enforced(start_mock: Callable[..., MockProcess]) -> None:
    mock = start_mock("--latency", "zero", env={"AGENTLOAD_MOCK_API_KEY": "sk-right"})
    good = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-right", max_retries=0)
    assert good.responses.create(model="m", input="hi").status == "completed"
    bad = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.responses.create(model="m", input="hi")
    assert e.value.code == "invalid_api_key" and "sk-wrong" not in str(e.value)
    # the WebSocket upgrade is refused with the same 401
    import websockets.exceptions

    with pytest.raises(websockets.exceptions.InvalidStatus) as ws_err, bad.responses.connect() as conn:
        conn.response.create(model="m", input="hi")
        conn.recv()
    assert ws_err.value.response.status_code == 401


class ChangedFile(BaseModel):
    path: str
    changed: bool


class Answer(BaseModel):
    """A structured output as the OpenAI Agents SDK's output_type asks for one (strict JSON schema)."""

    summary: str
    files: list[ChangedFile]
    confidence: float | None


def test_structured_outputs_parse_in_the_sdk_on_both_apis(client: openai.OpenAI) -> None:
    """responses.parse and chat.completions.parse send the schema strict; the mock's answer parses."""
    resp = client.responses.parse(model="gpt-5.4", input="Summarise the change", text_format=Answer)
    assert isinstance(resp.output_parsed, Answer), resp.output_text
    assert resp.text is not None and resp.text.format is not None and resp.text.format.type == "json_schema"
    chat = client.chat.completions.parse(
        model="gpt-4.1",
        messages=[{"role": "user", "content": "Summarise the change"}],
        response_format=Answer,
    )
    assert isinstance(chat.choices[0].message.parsed, Answer), chat.choices[0].message.content
