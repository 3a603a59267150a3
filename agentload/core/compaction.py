"""A compacted context's marker: how many model turns the history it replaces held.

A coding agent near its context limit compacts: it replaces its history with the system prompt, the
user's prompt and a summary of the rest, and goes on from there (over the Responses API as a new
request, with no ``previous_response_id``: the server's copy is the long history). The mock follows a
conversation's script by the model turns in its input, and a compacted input holds none of them. So the
summary (a user message) ends with one marker line naming the turns it stands for; the mock finds the
last one in a request's input, whatever the strategy, and counts its turns from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .forkmark import message_text

_PATTERN = re.compile(r"\[agentload compacted turns=(\d+)\]")
_NEEDLE = "[agentload compacted turns="


@dataclass(frozen=True)
class CompactMark:
    """A compaction: the model turns of the history the summary replaces."""

    turns: int

    def text(self) -> str:
        return f"[agentload compacted turns={self.turns}]"

    def on(self, summary: str) -> str:
        """The summary with the marker as its last line."""
        return f"{summary}\n\n{self.text()}" if summary else self.text()


def last_compaction(history: list[dict[str, Any]]) -> tuple[CompactMark, int] | None:
    """The last compaction's marker in ``history`` (Responses input items or chat messages) and the
    index of the user message that carries it; None when the history was never compacted."""
    for i in range(len(history) - 1, -1, -1):
        item = history[i]
        if item.get("role") == "user" and _NEEDLE in (text := message_text(item)):
            matches = _PATTERN.findall(text)
            if matches:
                return CompactMark(int(matches[-1])), i
    return None
