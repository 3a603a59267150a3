"""The Conversations API on the mock, through the official openai SDK (unmodified): a conversation made,
several turns run in it with ``conversation=``, its items listed and paged, one deleted, the conversation
deleted; unknown ids and ``conversation`` beside ``previous_response_id`` refused as OpenAI refuses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai.types.responses import FunctionToolParam, Response, ResponseInputParam

from agentload.mock import MockProcess
from tests.paths import ROOT

TOOLS: list[FunctionToolParam] = [
    {
        "type": "function",
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        "strict": False,
    }
]


@pytest.fixture
def client(zero_mock: MockProcess) -> Iterator[openai.OpenAI]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield openai.OpenAI(base_url=f"{zero_mock.url}/v1", api_key="sk-test", max_retries=0)


def outputs_for(response: Response) -> ResponseInputParam:
    """The outputs of a response's function calls: all a conversation's next turn sends."""
    return [
        {"type": "function_call_output", "call_id": o.call_id, "output": f"contents of {o.arguments}"}
        for o in response.output
        if o.type == "function_call"
    ]


def test_a_session_in_a_conversation(client: openai.OpenAI) -> None:
    conv = client.conversations.create(metadata={"session": "s1"})
    assert (
        conv.id.startswith("conv_") and conv.object == "conversation" and conv.metadata == {"session": "s1"}
    )
    turn = client.responses.create(
        model="gpt-5.4", input="Fix the failing test", tools=TOOLS, conversation=conv.id
    )
    assert turn.conversation is not None and turn.conversation.id == conv.id
    sent = 1  # items the client sent: the prompt, then each turn's tool outputs
    made = len(turn.output)
    turns = 1
    while any(o.type == "function_call" for o in turn.output):
        new = outputs_for(turn)
        turn = client.responses.create(
            model="gpt-5.4", input=new, tools=TOOLS, conversation={"id": conv.id}, stream=False
        )
        sent, made, turns = sent + len(new), made + len(turn.output), turns + 1
    assert turns == 11  # the zero_mock's 10 turns of calls and its answer, played in the conversation
    assert turn.output_text

    # every item, oldest first, paged 7 at a time through the SDK's own cursor
    items = list(client.conversations.items.list(conv.id, order="asc", limit=7))
    assert len(items) == sent + made
    assert items[0].type == "message" and items[-1].type == "message"
    newest = client.conversations.items.list(conv.id, limit=1)
    assert newest.data[0].id == items[-1].id and newest.has_more
    calls = [i for i in items if i.type == "function_call"]
    assert (
        calls and client.conversations.items.retrieve(calls[0].id, conversation_id=conv.id).id == calls[0].id
    )

    # an item added outside a response leads the next one's input; one deleted is gone
    added = client.conversations.items.create(
        conv.id, items=[{"type": "message", "role": "user", "content": "And the docs?"}]
    )
    assert added.data[0].type == "message" and added.first_id == added.last_id
    again = client.responses.create(model="gpt-5.4", input=[], tools=TOOLS, conversation=conv.id)
    assert again.status == "completed" and (again.usage is not None and again.usage.input_tokens > 0)
    after = client.conversations.items.delete(added.data[0].id, conversation_id=conv.id)
    assert after.id == conv.id
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(added.data[0].id, conversation_id=conv.id)

    updated = client.conversations.update(conv.id, metadata={"session": "s2"})
    assert client.conversations.retrieve(conv.id).metadata == {"session": "s2"} == updated.metadata
    deleted = client.conversations.delete(conv.id)
    assert deleted.deleted and deleted.id == conv.id
    with pytest.raises(openai.NotFoundError) as lost:
        client.conversations.retrieve(conv.id)
    assert lost.value.body == {
        "message": f"Conversation with id '{conv.id}' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_a_conversation_with_items_and_unknown_ids(client: openai.OpenAI) -> None:
    conv = client.conversations.create(
        items=[
            {"type": "message", "role": "developer", "content": "You are a coding agent."},
            {"type": "message", "role": "user", "content": "Fix the failing test"},
        ]
    )
    first = client.responses.create(model="gpt-5.4", input=[], tools=TOOLS, conversation=conv.id)
    assert first.status == "completed" and first.conversation is not None
    listed = client.conversations.items.list(conv.id, order="asc")
    assert [i.type for i in listed.data[:2]] == ["message", "message"]

    with pytest.raises(openai.NotFoundError) as unknown:
        client.responses.create(model="gpt-5.4", input="hi", conversation="conv_does_not_exist")
    assert unknown.value.status_code == 404
    assert unknown.value.body == {
        "message": "Conversation with id 'conv_does_not_exist' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as both:
        client.responses.create(
            model="gpt-5.4", input="hi", conversation=conv.id, previous_response_id=first.id
        )
    assert isinstance(both.value.body, dict) and both.value.body["code"] == "mutually_exclusive_parameters"
    assert both.value.body["param"] is None
    with pytest.raises(openai.BadRequestError) as many:
        client.conversations.create(items=[{"role": "user", "content": "x"}] * 21)
    assert isinstance(many.value.body, dict) and many.value.body["param"] == "items"
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list("conv_does_not_exist")
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve("msg_does_not_exist", conversation_id=conv.id)


def test_the_agents_sdk_keeps_its_conversations_on_the_mock(tmp_path: Path) -> None:
    """The OpenAI Agents SDK's conversation session and its server-managed conversation_id, each two
    runs of an agent on the mock (the issue: POST /v1/conversations was a 404 and they could not run)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "OPENAI_API_KEY": "sk-agentload-dummy",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
        "NO_PROXY": "*",
    }
    with MockProcess(["--latency", "zero", "--default-turns", "2", "--default-calls", "1"]) as mock:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.agents_sdk_conversation", f"{mock.url}/v1"],
            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
        )  # fmt: skip
        counts = mock.stats(exchanges=False)["model"]["conversations"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    session, server = (json.loads(line) for line in proc.stdout.splitlines())
    for way in (session, server):
        # the first run: two turns that call read_file, then the answer; the second (its script played
        # out, the history carried over) answers at once; both runs' items kept, in order
        assert way["tool_runs"] == 2 and way["output"], way
        assert way["items"].count("function_call") == 2 and way["items"].count("function_call_output") == 2
        assert way["items"].count("message") == 4 and way["items"][-1] == "message", way
    # the session adds the items itself; with conversation_id each of the 4 responses joined it
    assert counts == {"created": 2, "deleted": 2, "responses": 4, "evicted": 0, "live": 0}, counts
