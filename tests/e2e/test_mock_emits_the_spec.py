"""What the mock emits validates against OpenAI's OpenAPI spec (the vendored copy): every Responses
stream event over HTTP and over WebSocket mode, the Response object, chat completions and their chunks,
on the paths real clients take (reasoning with a summary, function and custom tool calls, a plain
answer, a structured output, an error), and the Conversations API's objects: a conversation, its item
lists and items, a deletion, and a response (streamed and whole, over HTTP and WebSocket) in one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from websockets.sync.client import connect

from agentload.mock import MockProcess
from tests.openapi_spec import event_violations, violations

READ = {"type": "function", "name": "read_file", "strict": False,
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}  # fmt: skip
PATCH = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"],
          "additionalProperties": False}  # fmt: skip
BODIES: dict[str, dict[str, Any]] = {
    "calls, reasoning summary": {"input": "Fix the test", "tools": [READ, PATCH], "reasoning": {"summary": "auto"}},
    "encrypted reasoning": {"input": "Fix it", "tools": [READ], "store": False, "include": ["reasoning.encrypted_content"]},
    "a plain answer": {"input": "Say hi"},
    "a structured output": {"input": "Summarise", "text": {"format": {"type": "json_schema", "name": "s",
                                                                      "schema": SCHEMA, "strict": True}}},
    "a non-reasoning model": {"model": "gpt-4.1", "input": "Fix the test", "tools": [READ]},
}  # fmt: skip


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess(["--latency", "zero"]) as m:
        yield m


def _body(name: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-5.4", **BODIES[name], **extra}


def _sse(mock: MockProcess, body: dict[str, Any]) -> list[dict[str, Any]]:
    client = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-test", max_retries=0)
    raw = client.responses.with_raw_response.create(**body, stream=True)  # the bytes as sent
    events = []
    for line in raw.http_response.iter_lines():
        if line.startswith("data: {"):
            events.append(json.loads(line[len("data: ") :]))
    return events


@pytest.mark.parametrize("name", list(BODIES))
def test_every_http_stream_event_and_the_response(mock: MockProcess, name: str) -> None:
    events = _sse(mock, _body(name))
    assert events and events[-1]["type"] == "response.completed"
    problems = [p for e in events for p in event_violations(e)]
    assert not problems, problems[:10]
    client = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-test", max_retries=0)
    whole = client.responses.with_raw_response.create(**_body(name)).http_response.json()
    assert not violations("Response", whole), violations("Response", whole)[:10]


def test_every_websocket_event_continued_and_an_error(mock: MockProcess) -> None:
    url = mock.url.replace("http://", "ws://") + "/v1/responses"
    events: list[dict[str, Any]] = []
    with connect(url, additional_headers={"Authorization": "Bearer sk-test"}) as ws:
        prev: str | None = None
        calls: list[str] = []
        for turn in range(3):
            body = _body("encrypted reasoning") if prev is None else {"model": "gpt-5.4", "store": False,
                     "previous_response_id": prev, "input": [{"type": "function_call_output", "call_id": c,
                     "output": "ok"} for c in calls]}  # fmt: skip
            ws.send(json.dumps({"type": "response.create", **body}))
            while True:
                event = json.loads(ws.recv(timeout=30))
                events.append(event)
                if event["type"] in ("response.completed", "error"):
                    break
            assert event["type"] == "response.completed", (turn, event)
            prev = event["response"]["id"]
            calls = [i["call_id"] for i in event["response"]["output"] if i["type"] == "function_call"]
        ws.send(json.dumps({"type": "response.create", "model": "gpt-5.4", "previous_response_id": "resp_nope",
                            "input": "x", "store": False}))  # fmt: skip
        error = json.loads(ws.recv(timeout=30))
    problems = [p for e in events for p in event_violations(e)]
    assert not problems, problems[:10]
    # WebSocket mode's error event (its guide's shape, which the spec's stream events do not cover)
    assert error["type"] == "error" and error["status"] == 400, error
    assert error["error"]["code"] == "previous_response_not_found" and error["error"]["param"], error


def test_chat_completions_and_their_chunks(mock: MockProcess) -> None:
    client = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-test", max_retries=0)
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": READ["parameters"]}}]
    body: dict[str, Any] = {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "Fix the test"}],
        "tools": tools,
    }
    whole = client.chat.completions.with_raw_response.create(**body).http_response.json()
    assert not violations("CreateChatCompletionResponse", whole), violations(
        "CreateChatCompletionResponse", whole
    )
    for extra in ({}, {"tools": None}):
        raw = client.chat.completions.with_raw_response.create(
            **{**body, **{k: v for k, v in extra.items() if v is not None}}, stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip
        chunks = [
            json.loads(x[len("data: ") :]) for x in raw.http_response.iter_lines() if x.startswith("data: {")
        ]
        assert chunks
        problems = [p for c in chunks for p in violations("CreateChatCompletionStreamResponse", c)]
        assert not problems, problems[:10]


def _item_list_violations(page: dict[str, Any]) -> list[str]:
    """A ConversationItemList; an empty one's first_id and last_id are null (as OpenAI's empty lists
    have them; the spec says string), the rest as the spec has it."""
    if not page["data"]:
        assert page["first_id"] is None and page["last_id"] is None, page
        page = {**page, "first_id": "", "last_id": ""}
    return violations("ConversationItemList", page)


def test_conversations_their_items_and_a_response_in_one(mock: MockProcess) -> None:
    client = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-test", max_retries=0)
    http = client.with_raw_response.conversations
    problems: list[str] = []
    empty = http.create().http_response.json()
    problems += violations("ConversationResource", empty)
    problems += _item_list_violations(http.items.list(empty["id"]).http_response.json())
    conv = http.create(
        metadata={"k": "v"},
        items=[{"type": "message", "role": "developer", "content": "Be brief."},
               {"role": "user", "content": [{"type": "input_text", "text": "Fix the test"}]}],
    ).http_response.json()  # fmt: skip
    problems += violations("ConversationResource", conv)
    body = _body("encrypted reasoning", input=[], store=True, conversation=conv["id"])
    events = _sse(mock, body)
    problems += [p for e in events for p in event_violations(e)]
    done = events[-1]["response"]
    assert done["conversation"] == {"id": conv["id"]}, done
    calls = [i for i in done["output"] if i["type"] == "function_call"]
    assert calls
    outputs = [{"type": "function_call_output", "call_id": c["call_id"], "output": "ok"} for c in calls]
    whole = client.responses.with_raw_response.create(
        **{**body, "input": outputs, "conversation": {"id": conv["id"]}}
    ).http_response.json()
    problems += violations("Response", whole)
    url = mock.url.replace("http://", "ws://") + "/v1/responses"
    with connect(url, additional_headers={"Authorization": "Bearer sk-test"}) as ws:
        added = http.items.create(conv["id"], items=[{"role": "user", "content": "Now the docs"}])
        problems += _item_list_violations(added.http_response.json())
        answers = [{"type": "function_call_output", "call_id": i["call_id"], "output": "ok"}
                   for i in whole["output"] if i["type"] == "function_call"]  # fmt: skip
        ws.send(json.dumps({"type": "response.create", **body, "input": answers}))
        while (event := json.loads(ws.recv(timeout=30)))["type"] not in ("response.completed", "error"):
            problems += event_violations(event)
        assert event["type"] == "response.completed", event
        assert event["response"]["conversation"] == {"id": conv["id"]}
    for order in ("asc", "desc"):
        page = http.items.list(conv["id"], order=order, limit=100).http_response.json()
        problems += _item_list_violations(page)
        assert {i["type"] for i in page["data"]} >= {
            "message",
            "reasoning",
            "function_call",
            "function_call_output",
        }
        for item in page["data"][:3]:
            one = http.items.retrieve(item["id"], conversation_id=conv["id"]).http_response.json()
            problems += violations("ConversationItem", one)
    problems += violations("ConversationResource", http.update(conv["id"], metadata={}).http_response.json())
    first = page["data"][-1]["id"]
    after = http.items.delete(first, conversation_id=conv["id"]).http_response.json()
    problems += violations("ConversationResource", after)
    problems += violations("DeletedConversationResource", http.delete(conv["id"]).http_response.json())
    assert not problems, problems[:10]


def test_the_checks_can_fail() -> None:
    """The validators find what is wrong (a Response without its id, a delta without its item)."""
    assert event_violations({"type": "response.created", "sequence_number": 0})
    assert event_violations({"type": "response.bogus", "sequence_number": 0})
    assert violations("CreateChatCompletionStreamResponse", {"object": "chat.completion.chunk"})
    assert violations("ConversationItem", {"type": "function_call_output", "call_id": "c", "output": "x"})
