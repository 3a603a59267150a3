"""One OpenAI Agents SDK session per mode against a base URL (the mock, or ``agentload record`` in front
of it), run by the e2e tests in a process of their own (a throwaway HOME, tracing off, a dummy key):

    python -m tests.agents_sdk_session BASE_URL MODE...

MODE is ``responses`` (OpenAIResponsesModel over HTTP), ``ws`` (OpenAIResponsesWSModel: the Responses
WebSocket mode), ``chat`` (OpenAIChatCompletionsModel), or one of them with ``-structured`` (the agent
has a Pydantic ``output_type``: ``text.format`` json_schema on Responses, ``response_format`` on chat);
``responses-chained`` (``auto_previous_response_id``: each turn continues the last response) and
``responses-conversation`` (``conversation_id``: a Conversation made first holds the history).
Prints one JSON line per session: the mode, the model requests it made (``turns``), the tool calls the
SDK ran, and the final output (a structured one as its fields).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from agents import (
    Agent,
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    ToolCallItem,
    function_tool,
    set_tracing_disabled,
)
from agents.models.openai_responses import OpenAIResponsesWSModel
from openai import AsyncOpenAI
from pydantic import BaseModel

MODEL = "gpt-5.4"
# a system prompt and tool outputs of a coding agent's sizes (7.5 KB, as opencode's 10 KB or Codex's
# 18.7 KB of tools; 1.3 KB): a turn's bytes are then mostly what the client chose to send, not the
# fixed fields a replay adds around it (store, the task's name for the mock: 0.1-0.2 KB a request)
INSTRUCTIONS = "You fix failing tests in a Python repository. Read the files you need, then answer. " * 90
TOOL_OUTPUT = "def add(a, b):\n    return a - b  # the bug\n" * 30
tool_runs = 0


class Fix(BaseModel):
    """The structured answer: what the agent changed."""

    file: str
    summary: str
    tests_pass: bool


@function_tool
def read_file(path: str) -> str:
    """Read a file of the repository.

    Args:
        path: the file's path, relative to the repository.
    """
    global tool_runs
    tool_runs += 1
    return TOOL_OUTPUT


def model_for(mode: str, client: AsyncOpenAI) -> Model:
    api = mode.removesuffix("-structured").removesuffix("-chained").removesuffix("-conversation")
    if api == "responses":
        return OpenAIResponsesModel(MODEL, client)
    if api == "ws":
        return OpenAIResponsesWSModel(MODEL, client)
    if api == "chat":
        return OpenAIChatCompletionsModel(MODEL, client)
    raise SystemExit(f"unknown mode {mode!r}")


async def session(base_url: str, mode: str) -> dict[str, Any]:
    global tool_runs
    tool_runs = 0
    client = AsyncOpenAI(base_url=base_url, api_key=os.environ["OPENAI_API_KEY"], max_retries=0)
    model = model_for(mode, client)
    agent: Agent[None] = Agent(
        name="fixer",
        instructions=INSTRUCTIONS,
        tools=[read_file],
        model=model,
        output_type=Fix if mode.endswith("-structured") else None,
    )
    prompt = "The test test_add fails. Find the bug and fix it."
    try:
        if mode == "responses-conversation":
            conversation = await client.conversations.create()
            result = await Runner.run(agent, prompt, max_turns=12, conversation_id=conversation.id)
        else:
            chained = mode == "responses-chained"
            result = await Runner.run(agent, prompt, max_turns=12, auto_previous_response_id=chained)
    finally:
        if isinstance(model, OpenAIResponsesWSModel):
            await model.close()
        await client.close()
    calls = sum(1 for item in result.new_items if isinstance(item, ToolCallItem))
    output = result.final_output
    return {
        "mode": mode,
        "turns": len(result.raw_responses),
        "tool_calls": calls,
        "tool_runs": tool_runs,
        "output": output.model_dump() if isinstance(output, BaseModel) else output,
    }


async def main(base_url: str, modes: list[str]) -> None:
    set_tracing_disabled(True)
    for mode in modes:
        print(json.dumps(await session(base_url, mode)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
