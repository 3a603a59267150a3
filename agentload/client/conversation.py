"""One coding task's conversation as the agent holds it: the whole history (for stateless resends and
for recovery) and what is new since the last response (for continuations)."""

from __future__ import annotations

from typing import Any

from ..workload import Task
from .stream import TurnOutcome


class Conversation:
    """The history in both API shapes: Responses input items and Chat Completions messages."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": task.prompt}]
        self.new_items: list[dict[str, Any]] = list(self.items)
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": task.instructions},
            {"role": "user", "content": task.prompt},
        ]
        self.previous_response_id: str | None = None
        self.session = 0  # the transport's session when the last response completed

    @property
    def started(self) -> bool:
        return self.previous_response_id is not None

    def add_reply(self, reply: TurnOutcome, session: int) -> None:
        self.session = session
        calls = [
            {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
            for c in reply.calls
        ]
        self.items.extend(calls)
        self.new_items = []
        if reply.calls:
            self.messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in reply.calls
                    ],
                }
            )
        self.previous_response_id = reply.response_id

    def add_tool_output(self, call_id: str, output: str) -> None:
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        self.items.append(item)
        self.new_items.append(item)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
