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

from .marker import last_in_user_messages, with_marker_line

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
        return with_marker_line(summary, self.text())


def _find(text: str) -> CompactMark | None:
    matches = _PATTERN.findall(text)
    return CompactMark(int(matches[-1])) if matches else None


def last_compaction(history: list[dict[str, Any]]) -> tuple[CompactMark, int] | None:
    """The last compaction's marker in ``history`` (Responses input items or chat messages) and the
    index of the user message that carries it; None when the history was never compacted."""
    return last_in_user_messages(history, _NEEDLE, _find)
