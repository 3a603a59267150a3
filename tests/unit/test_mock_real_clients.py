"""What real clients send, answered as OpenAI answers it (#28): a reasoning item resent without its id
(opencode, store=false), a request that declares no tools (a plain answer, never an undeclared call),
chat's max_tokens, which OpenAI refuses for a reasoning model, and structured outputs (the Agents SDK's
output_type): the final answer is JSON valid against the schema asked for."""

from __future__ import annotations

import json

import jsonschema
import pytest

from agentload.mock.config import DefaultScript, MockConfig
from agentload.mock.engine import Engine, Generation
from agentload.mock.errors import ApiError
from agentload.mock.model import ScriptedModel
from agentload.mock.requests import parse_chat, parse_create
from agentload.workload import TASKS_DIR

REASONING = {"type": "reasoning", "summary": [], "encrypted_content": "gAAAA" + "x" * 40}


def test_a_reasoning_item_without_its_id_is_taken_when_it_carries_its_encrypted_content() -> None:
    body = {"model": "gpt-5.4", "input": [{"role": "user", "content": "hi"}, REASONING]}
    req = parse_create(body, websocket=False)
    assert len(req.items) == 2
    without = {k: v for k, v in REASONING.items() if k != "encrypted_content"}
    with pytest.raises(ApiError) as e:
        parse_create({"model": "gpt-5.4", "input": [without]}, websocket=False)
    assert e.value.param == "input[0].id"


@pytest.mark.parametrize("tools", [[], [{"type": "web_search"}]])
def test_no_tool_the_client_declared_means_a_plain_answer(tools: list[dict[str, str]]) -> None:
    model = ScriptedModel(TASKS_DIR, DefaultScript())
    plan = model.plan(None, 0, "conv", tools)
    assert plan.calls == () and plan.message == DefaultScript().final_message


def test_a_declared_tool_is_called() -> None:
    model = ScriptedModel(TASKS_DIR, DefaultScript())
    tool = {"type": "function", "name": "grep", "parameters": {"type": "object", "properties": {}}}
    plan = model.plan(None, 0, "conv", [tool])
    assert plan.calls and {c.name for c in plan.calls} == {"grep"}


def test_chat_max_tokens_is_refused_for_a_reasoning_model_as_openai_refuses_it() -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ApiError) as e:
        parse_chat({"model": "gpt-5.4", "messages": messages, "max_tokens": 100})
    assert (e.value.status, e.value.param, e.value.code) == (400, "max_tokens", "unsupported_parameter")
    assert (
        parse_chat({"model": "gpt-5.4", "messages": messages, "max_completion_tokens": 100}).max_tokens == 100
    )
    assert parse_chat({"model": "gpt-4.1", "messages": messages, "max_tokens": 100}).max_tokens == 100


# a structured output as the OpenAI Agents SDK asks for one (output_type: a pydantic model, strict)
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "files": {"type": "array", "items": {"$ref": "#/$defs/File"}},
        "confidence": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["summary", "files", "confidence"],
    "additionalProperties": False,
    "$defs": {
        "File": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "changed": {"type": "boolean"}},
            "required": ["path", "changed"],
            "additionalProperties": False,
        }
    },
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}


def _final_text(gen: Generation) -> str:
    message = next(i for i in gen.final_response()["output"] if i["type"] == "message")
    return str(message["content"][0]["text"])


def test_a_json_schema_format_gets_json_valid_against_its_schema_and_is_echoed() -> None:
    engine = Engine(MockConfig())
    body = {"model": "gpt-5.4", "input": "Summarise", "text": {"format": JSON_SCHEMA_FORMAT}}
    gen = engine.start(parse_create(body, websocket=False), None)
    answer = json.loads(_final_text(gen))
    jsonschema.validate(answer, ANSWER_SCHEMA)
    assert set(answer) == {"summary", "files", "confidence"}  # strict: every property
    assert gen.final_response()["text"]["format"] == JSON_SCHEMA_FORMAT
    obj = engine.start(
        parse_create({**body, "text": {"format": {"type": "json_object"}}}, websocket=False), None
    )
    assert isinstance(json.loads(_final_text(obj)), dict)
    with pytest.raises(ApiError) as e:
        parse_create({**body, "text": {"format": {"type": "yaml"}}}, websocket=False)
    assert e.value.param == "text.format.type"
    with pytest.raises(ApiError) as e:
        parse_create({**body, "text": {"format": {"type": "json_schema", "name": "x"}}}, websocket=False)
    assert e.value.param == "text.format.schema"


def test_chat_response_format_gets_json_valid_against_its_schema() -> None:
    inner = {k: v for k, v in JSON_SCHEMA_FORMAT.items() if k != "type"}
    chat = parse_chat(
        {
            "model": "gpt-4.1",
            "messages": [{"role": "user", "content": "Summarise"}],
            "response_format": {"type": "json_schema", "json_schema": inner},
        }
    )
    gen = Engine(MockConfig()).start_chat(chat)
    jsonschema.validate(json.loads(str(gen.plan.message)), ANSWER_SCHEMA)
