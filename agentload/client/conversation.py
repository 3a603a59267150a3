"""One coding task's conversation as the agent holds it: the whole history (for stateless resends and
for recovery) and what is new since the last response (for continuations)."""

from __future__ import annotations

import secrets
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
        # one per session, as Codex sends its thread id: a prompt cache then holds this session's
        # prefix, not another agent's identical synthetic one
        self.cache_key = "agentload-" + secrets.token_hex(8)
        self.session = 0  # the transport's session when the last response completed
        self._custom: set[str] = set()  # call ids of custom tool calls (their outputs differ in type)

    @property
    def started(self) -> bool:
        return self.previous_response_id is not None

    def add_reply(self, reply: TurnOutcome, session: int) -> None:
        """The model's turn joins the history: its reasoning items (as a ``store: false`` client resends
        them, encrypted content and all, so a stateless turn's bytes include them), then its calls."""
        self.session = session
        reasoning = [_resend_form(i) for i in reply.output_items if i.get("type") == "reasoning"]
        calls = [
            {"type": "custom_tool_call", "call_id": c.call_id, "name": c.name, "input": c.arguments}
            if c.custom
            else {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
            for c in reply.calls
        ]
        self._custom.update(c.call_id for c in reply.calls if c.custom)
        self.items.extend(reasoning + calls)
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
        kind = "custom_tool_call_output" if call_id in self._custom else "function_call_output"
        item = {"type": kind, "call_id": call_id, "output": output}
        self.items.append(item)
        self.new_items.append(item)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


def _resend_form(item: dict[str, Any]) -> dict[str, Any]:
    """A reasoning output item as an input item: its id, summary and encrypted content (no status)."""
    return {
        k: v for k, v in item.items() if k in ("type", "id", "summary", "encrypted_content") and v is not None
    }
