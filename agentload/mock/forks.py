"""Subagents as the mock sees them: where each forked one began, and what came back to its parent.

A forked subagent continues its parent's conversation (core.forkmark): by ``previous_response_id``
from the parent's response (on another WebSocket lane, another connection, or over HTTP from the
store), or by resending the parent's whole context. Either way its turns follow its own script,
counted from its prompt, and the mock logs the fork once: the subagent, its task, the parent's
response it continued from (the previous response, or the response that made the calls answered just
before its prompt) and how (``previous_response_id`` or ``resent``). A spawning call's output should
be its subagents' final messages (fan-in): the mock knows them from the script, and counts the
parent's turns whose outputs carry them.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..core.forkmark import SPAWNED, last_fork
from .model import PlannedCall
from .requests import CALL_OUTPUTS

CALL_TYPES = frozenset(CALL_OUTPUTS)
OUTPUT_TYPES = frozenset(CALL_OUTPUTS.values())

MAX_CALLS = 200_000  # call ids whose response is remembered (a resent fork names its parent so)
MAX_LOGGED = 1_000  # forks kept in detail (all are counted)


@dataclass(frozen=True)
class Fork:
    """A forked subagent's first request: who, what script, from which response, how."""

    child: str
    task: str
    parent_response: str | None
    via: str  # "previous_response_id" or "resent"
    stream_id: str | None  # its WebSocket lane, where it has one
    context_items: int  # the items of its parent's conversation it began with (resent), or 0


@dataclass(frozen=True)
class Resolved:
    """What a request that carries a fork continues as: the subagent's task and seed, and where its
    prompt is in the request's input (its turns are the model's after it)."""

    task: str
    seed: str
    at: int


class Forks:
    """The forks seen, the call ids' responses, and the spawning calls' expected outputs."""

    def __init__(self) -> None:
        self.logged: deque[Fork] = deque(maxlen=MAX_LOGGED)
        self.counts: Counter[str] = Counter()
        self._seen: OrderedDict[str, None] = OrderedDict()  # children logged already
        self._made_by: OrderedDict[str, str] = OrderedDict()  # call id -> the response that made it
        self._expected: dict[str, str] = {}  # spawning call id -> its subagents' final messages

    def resolve(
        self, items: list[dict[str, Any]], previous: str | None, stream_id: str | None
    ) -> Resolved | None:
        """The fork ``items`` begin (its marker in the last user message that has one), or None."""
        found = last_fork(items)
        if found is None:
            return None
        mark, at = found
        if mark.child not in self._seen:
            self._seen[mark.child] = None
            while len(self._seen) > MAX_CALLS:
                self._seen.popitem(last=False)
            # the parent's context resent: its calls are in the request (a continuation carries outputs only)
            resent = any(
                item.get("type") in CALL_TYPES or item.get("role") == "assistant" for item in items[:at]
            )
            answered = [
                str(item.get("call_id") if item.get("type") in OUTPUT_TYPES else item.get("tool_call_id"))
                for item in items[:at]
                if item.get("type") in OUTPUT_TYPES or item.get("role") == "tool"
            ]
            parent = (
                next((self._made_by[c] for c in reversed(answered) if c in self._made_by), None)
                if resent or previous is None
                else previous
            )
            via = "resent" if resent else "previous_response_id"
            self.logged.append(
                Fork(mark.child, mark.task, parent, via, stream_id, at if via == "resent" else 0)
            )
            self.counts[via] += 1
        seed = hashlib.sha1(f"{mark.task}:{mark.child}".encode()).hexdigest()[:16]
        return Resolved(mark.task, seed, at)

    def planned(self, response_id: str, calls: Iterable[PlannedCall]) -> None:
        """A response's calls: who made them (a fork that resends its parent's context names the parent
        by them), and what a spawning one's output should be (its subagents' final messages)."""
        for call in calls:
            self._made_by[call.call_id] = response_id
            self._made_by.move_to_end(call.call_id)
            if call.fan_in is not None and len(self._expected) < MAX_CALLS:
                self._expected[call.call_id] = call.fan_in
        while len(self._made_by) > MAX_CALLS:
            self._made_by.popitem(last=False)

    def joined(self, items: list[dict[str, Any]]) -> None:
        """Counts the spawning calls ``items`` answer: with their subagents' final messages or not (a
        fork's placeholder is neither: it answers in the fork, not in the parent)."""
        if not self._expected:
            return
        for item in items:
            if item.get("type") in OUTPUT_TYPES:
                call_id, output = item.get("call_id"), item.get("output")
            elif item.get("role") == "tool":
                call_id, output = item.get("tool_call_id"), item.get("content")
            else:
                continue
            want = self._expected.get(str(call_id))
            if want is None:
                continue
            if output == want:
                self.counts["fan_in_matched"] += 1
                del self._expected[str(call_id)]
            elif output != SPAWNED:
                self.counts["fan_in_mismatched"] += 1
                del self._expected[str(call_id)]

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def snapshot(self) -> dict[str, Any]:
        return {
            "forks": self.counts["resent"] + self.counts["previous_response_id"],
            "counts": dict(self.counts),
            "recent": [asdict(f) for f in self.logged],
        }
