"""What real clients send, answered as OpenAI answers it (#28): a reasoning item resent without its id
(opencode, store=false), a request that declares no tools (a plain answer, never an undeclared call),
and chat's max_tokens, which OpenAI refuses for a reasoning model."""

from __future__ import annotations

import pytest

from agentload.mock.config import DefaultScript
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
