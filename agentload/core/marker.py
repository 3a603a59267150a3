"""agentload's conversation marker: the task, the conversation and the strategy named in-band.

A proxy between the agents and the mock (a gateway such as LiteLLM) forwards a request's content, its
system prompt above all, but not necessarily its headers or its ``metadata``: a task named only there
reaches the mock as no task, and the mock then plays another script (a gateway that changes the
workload while the run looks fine). So each conversation's system prompt (the ``instructions``, a
developer message, chat's system message) ends with one marker line; the mock reads it wherever the
system prompt arrives, and knows each conversation's task and what its turns should carry. The header
and the metadata stay as fallbacks for a task that has no system prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

T = TypeVar("T")

_PATTERN = re.compile(r"\[agentload task=(\S+) conversation=(\S+) strategy=(\S+)\]")


@dataclass(frozen=True)
class Mark:
    """One conversation's marker: its task, its id (one per task run) and the agent's strategy."""

    task: str
    conversation: str
    strategy: str

    def text(self) -> str:
        # quoted: a task name may hold spaces or brackets; the other two are agentload's own words
        return f"[agentload task={quote(self.task, safe='')} conversation={self.conversation} strategy={self.strategy}]"

    def on(self, system_prompt: str) -> str:
        """``system_prompt`` with the marker as its last line (its prefix, what a prompt cache holds, kept)."""
        return with_marker_line(system_prompt, self.text())


def find_mark(text: str) -> Mark | None:
    """The last marker in ``text`` (a recording of marked traffic replayed carries an older one first)."""
    matches = _PATTERN.findall(text)
    if not matches:
        return None
    task, conversation, strategy = matches[-1]
    return Mark(unquote(task), conversation, strategy)


def strip_mark(text: str) -> str:
    """``text`` without its markers (what a recorder keeps of a marked system prompt)."""
    return _PATTERN.sub("", text).rstrip()


def with_marker_line(text: str, marker: str) -> str:
    """``text`` with an agentload marker as its last line (every marker goes on its text so)."""
    return f"{text}\n\n{marker}" if text else marker


def message_text(item: dict[str, Any]) -> str:
    """A message's text (Responses input item or chat message, content as a string or parts)."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def last_in_user_messages(
    history: list[dict[str, Any]], needle: str, parse: Callable[[str], T | None]
) -> tuple[T, int] | None:
    """The last marker ``parse`` finds in a user message of ``history`` (Responses input items or chat
    messages) holding ``needle``, and that message's index; None when no user message carries one."""
    for i in range(len(history) - 1, -1, -1):
        item = history[i]
        if item.get("role") == "user" and needle in (text := message_text(item)):
            found = parse(text)
            if found is not None:
                return found, i
    return None
