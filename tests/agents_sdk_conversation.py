"""The OpenAI Agents SDK's two ways to keep a conversation on the server, against a base URL (the mock),
run by tests/e2e/test_mock_conversations.py in a process of its own (a throwaway HOME, tracing off, a
dummy key), as tests/agents_sdk_session.py runs its sessions:

    python -m tests.agents_sdk_conversation BASE_URL

``session``: an ``OpenAIConversationsSession`` (the SDK keeps the history in a Conversation's items and
sends it as input); ``conversation_id``: ``Runner.run(..., conversation_id=...)`` (each response names
the conversation, which holds the history). Two runs of the agent each, then the conversation's items
listed. Prints one JSON line per way: the tool calls the SDK ran, the items listed (their types), the
last run's final output.
"""

from __future__ import annotations

import asyncio
import json
import sys

from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from agents.memory import OpenAIConversationsSession
from openai import AsyncOpenAI

tool_runs = 0


@function_tool
def read_file(path: str) -> str:
    """Read a file of the repository."""
    global tool_runs
    tool_runs += 1
    return "def add(a, b):\n    return a - b  # the bug\n"


async def main(base_url: str) -> None:
    global tool_runs
    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=base_url, max_retries=0)
    agent = Agent(
        name="fixer",
        instructions="You fix failing tests.",
        tools=[read_file],
        model=OpenAIResponsesModel(model="gpt-5.4", openai_client=client),
    )
    session = OpenAIConversationsSession(openai_client=client)
    await Runner.run(agent, "Fix the failing test", session=session)
    last = await Runner.run(agent, "Now explain the fix", session=session)
    items = await session.get_items()
    print(json.dumps({"way": "session", "tool_runs": tool_runs, "items": [i.get("type", "message") for i in items],
                      "output": str(last.final_output)}))  # fmt: skip
    await session.clear_session()

    tool_runs = 0
    conv = await client.conversations.create()
    await Runner.run(agent, "Fix the failing test", conversation_id=conv.id)
    last = await Runner.run(agent, "Now explain the fix", conversation_id=conv.id)
    listed = [i.type async for i in client.conversations.items.list(conv.id, order="asc")]
    print(json.dumps({"way": "conversation_id", "tool_runs": tool_runs, "items": listed,
                      "output": str(last.final_output)}))  # fmt: skip
    await client.conversations.delete(conv.id)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
