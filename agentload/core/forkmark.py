"""A forked subagent's marker: where, in the conversation it continues, a subagent begins.

A fork continues its parent's conversation (by ``previous_response_id``, or by resending the parent's
whole context over a stateless API), then its own prompt. The mock follows each conversation's script
by the turns in it: a fork's turns must count from its own prompt, and follow its own script, not the
parent's. So the fork's prompt (a user message) ends with one marker line naming the subagent's task
and this run of it; the mock finds the last one in a request's input, whatever the strategy, and counts
the turns after it. A fresh subagent needs none: it is a conversation of its own, its task named as any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from .marker import last_in_user_messages, with_marker_line

# what a fork's copy of its parent's conversation answers the spawning calls with (their outputs, the
# subagents' final messages, come to the parent later)
SPAWNED = "Started as a subagent; its result comes back to the agent that spawned it."

_PATTERN = re.compile(r"\[agentload subagent=(\S+) fork=(\S+)\]")


@dataclass(frozen=True)
class ForkMark:
    """One forked subagent: its task (the qualified name, ``parent.t1c0s2``) and its run's id."""

    task: str
    child: str

    def text(self) -> str:
        return f"[agentload subagent={quote(self.task, safe='')} fork={self.child}]"

    def on(self, prompt: str) -> str:
        """The fork's prompt with the marker as its last line."""
        return with_marker_line(prompt, self.text())


def find_fork(text: str) -> ForkMark | None:
    """The last fork marker in ``text``, or None."""
    matches = _PATTERN.findall(text)
    if not matches:
        return None
    task, child = matches[-1]
    return ForkMark(unquote(task), child)


def last_fork(history: list[dict[str, Any]]) -> tuple[ForkMark, int] | None:
    """The last forked subagent's marker in ``history`` (Responses input items or chat messages) and
    the index of the user message that carries it; None when no fork begins in it."""
    return last_in_user_messages(history, "[agentload subagent=", find_fork)
