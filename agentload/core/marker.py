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
from dataclasses import dataclass
from urllib.parse import quote, unquote

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
        return f"{system_prompt}\n\n{self.text()}" if system_prompt else self.text()


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
