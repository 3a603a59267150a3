"""Context continuity: what each agentload conversation's turns should carry, and what they did carry.

Put behind a gateway (LiteLLM, any OpenAI-compatible proxy), the mock is the upstream that sees what
the gateway made of each turn. A gateway may lose a conversation's context and still answer 200: a
continuation sent on as a request without its instructions or its earlier turns, a
``previous_response_id`` it cannot resolve passed over. The agents then measure a cheap, fast turn
while the model would have answered from nothing. So the mock follows each conversation agentload's
marker names (core.marker) and, for every turn, compares the context that reached it (what the request
carries, and what the mock itself holds for its ``previous_response_id``, its WebSocket cache or its
Conversation) with the context the conversation should hold: every call the mock made before the turn
and its output, the system prompt, the user's prompt, the tools. The comparison is by meaning, not by
bytes, so it holds across APIs (a gateway may turn a Responses request into a chat completion).

A turn answers the calls of one earlier response of the mock (call ids are the mock's own); that
response's context, with its calls, is what the turn should hold. A turn that reaches the mock without
its marker (a gateway dropped the system prompt) is found by those call ids, and it plays on at the
conversation's own turn: the workload stays the one agentload sent, and the loss is counted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.marker import Mark, find_mark, message_text

CALL_TYPES = frozenset({"function_call", "custom_tool_call"})
OUTPUT_TYPES = frozenset({"function_call_output", "custom_tool_call_output"})
SYSTEM_ROLES = ("developer", "system")


@dataclass(frozen=True)
class Context:
    """What a prompt holds, as far as a conversation's continuity goes (ids and counts, never text)."""

    system: bool = False  # a system prompt (instructions, a developer or system message)
    users: int = 0  # user messages
    tools: bool = False  # tools declared
    # counts, not ids: every stored response and every call the mock made holds one of these, and a
    # conversation's n-th holding its n earlier ids made the mock's memory grow with the square of the
    # turns (a 1,000-turn session took tens of MB); a gateway that drops earlier items lowers the counts
    calls: int = 0  # the model's calls in it
    outputs: int = 0  # tool outputs in it

    def with_items(self, items: Iterable[dict[str, Any]]) -> Context:
        """This context and Responses input items (or Chat Completions messages) after it."""
        system, users = self.system, self.users
        calls, outputs = self.calls, self.outputs
        for item in items:
            kind, role = item.get("type"), item.get("role")
            if kind in CALL_TYPES:
                calls += 1
            elif kind in OUTPUT_TYPES:
                outputs += 1
            elif role in SYSTEM_ROLES:
                system = True
            elif role == "user":
                users += 1
            elif role == "assistant":  # chat: the calls ride on the assistant's message
                calls += sum(1 for c in item.get("tool_calls") or () if isinstance(c, dict))
            elif role == "tool":
                outputs += 1
        return Context(system, users, self.tools, calls, outputs)

    def declaring(self, system: bool, tools: bool) -> Context:
        """With a system prompt or tools the request itself sends (instructions, tools)."""
        return replace(self, system=self.system or system, tools=self.tools or tools)

    def with_calls(self, call_ids: Iterable[str]) -> Context:
        return replace(self, calls=self.calls + sum(1 for _ in call_ids))

    def missing(self, expected: Context) -> str | None:
        """What of ``expected`` this context lacks, in a few words (None: nothing)."""
        lost = []
        if expected.system and not self.system:
            lost.append("the system prompt")
        if expected.users > self.users:
            lost.append(
                "the user's prompt" if not self.users else f"{expected.users - self.users} user messages"
            )
        if expected.tools and not self.tools:
            lost.append("the tools")
        calls, outputs = expected.calls - self.calls, expected.outputs - self.outputs
        if calls > 0:
            lost.append(f"{calls} of {expected.calls} earlier calls")
        if outputs > 0:
            lost.append(f"{outputs} of {expected.outputs} earlier outputs")
        return ", ".join(lost) or None


def mark_in(instructions: str | None, history: Iterable[dict[str, Any]]) -> Mark | None:
    """The marker on a request's system prompt: its instructions, else a leading developer or system
    message (Responses items and chat messages alike; content a string or text parts)."""
    if instructions:
        found = find_mark(instructions)
        if found is not None:
            return found
    for item in history:
        if item.get("role") not in SYSTEM_ROLES:
            continue
        found = find_mark(message_text(item))
        if found is not None:
            return found
    return None


@dataclass
class Track:
    """One conversation as the upstream saw it, and what its turns lost."""

    mark: Mark
    seed: str  # its scripted model's seed, from its first request (a lost context must not change it)
    turns: int = 0  # turns the mock answered
    lost: int = 0  # of them, turns that reached it without the context they should hold
    first_loss: str = ""  # the first such turn, in a few words
    requests: int = 0  # requests that reached the mock (warm-ups and retries too)
    body_bytes: int = 0  # their bodies, as received (what the gateway sent on)
    ttft_s: float = 0.0  # the mock's own time to first token, summed over turns
    turn_requests: int = 0  # requests for a turn (not warm-ups); those it did not answer failed at the mock
    base: Context | None = (
        None  # its first turn's prompt: every later turn holds its system prompt, tools, user
    )


@dataclass(frozen=True)
class Answered:
    """A response of the mock, as the turns answering its calls should find it."""

    conversation: str
    turns: int  # the conversation's turns up to and including it
    context: Context  # its prompt's context and its own calls: what a turn after it holds at least


@dataclass
class Continuity:
    """The conversations the mock follows (bounded, least recently used out first), by their marker's
    id, and the calls it made, by call id."""

    max_conversations: int = 100_000
    tracks: OrderedDict[str, Track] = field(default_factory=OrderedDict)
    # call id -> the conversations the mock made it in (a scripted task's call ids are the same in every
    # conversation of that task), the latest last
    calls: OrderedDict[str, dict[str, Answered]] = field(default_factory=OrderedDict)

    def attribute(
        self, mark: Mark | None, follows: str | None, answers: list[str], seed: str
    ) -> tuple[Track | None, Answered | None]:
        """The conversation a request belongs to: by its marker, else by the response it continues
        (``follows``: that response's conversation), else by the calls it answers (the latest
        conversation that made them); and the mock's response whose calls it answers (None: a first
        turn, or not agentload's)."""
        key = mark.conversation if mark is not None else follows
        if key is None:
            key = next((next(reversed(self.calls[c])) for c in answers if c in self.calls), None)
        if key is None:
            return None, None
        answered = next((self.calls[c][key] for c in answers if key in self.calls.get(c, {})), None)
        track = self.tracks.get(key)
        if track is None:
            if mark is None:
                return None, answered
            track = self.tracks[key] = Track(mark, seed)
            while len(self.tracks) > self.max_conversations:
                self.tracks.popitem(last=False)
        self.tracks.move_to_end(key)
        return track, answered

    def turn(
        self, track: Track, answered: Answered | None, seen: Context, body_bytes: int
    ) -> tuple[str | None, int | None]:
        """A turn of ``track`` whose prompt holds ``seen``: what it lost against the response it
        answers (None: nothing), and the turn it is at when its context was lost (None: as its content
        says)."""
        track.requests += 1
        track.turn_requests += 1
        track.body_bytes += body_bytes
        expected = answered.context if answered is not None else Context(system=True, users=1)
        if track.base is None:
            track.base = seen
        else:  # what the first turn held stays (a turn after a lost one is not let off)
            base = track.base
            expected = replace(
                expected.declaring(base.system, base.tools), users=max(expected.users, min(base.users, 1))
            )
        lost = seen.missing(expected)
        if lost is not None:
            track.lost += 1
            if not track.first_loss:
                track.first_loss = (
                    f"turn {answered.turns + 1 if answered else 1} of {track.mark.task} lost {lost}"
                )
        return lost, (answered.turns if answered is not None else 0) if lost is not None else None

    def warmup(self, track: Track, body_bytes: int) -> None:
        track.requests += 1
        track.body_bytes += body_bytes

    def answered(
        self, track: Track, turns: int, context: Context, call_ids: Iterable[str], ttft_s: float
    ) -> None:
        """The mock answered a turn of ``track`` with calls ``call_ids``; ``context`` is its prompt's with
        those calls (the response's own context, as the engine keeps it)."""
        track.turns += 1
        track.ttft_s += ttft_s
        ids = tuple(call_ids)
        if ids:
            entry = Answered(track.mark.conversation, turns, context)
            for c in ids:
                made = self.calls.setdefault(c, {})
                made.pop(entry.conversation, None)
                made[entry.conversation] = entry
                self.calls.move_to_end(c)
            while len(self.calls) > self.max_conversations * 4:
                self.calls.popitem(last=False)

    def snapshot(self) -> dict[str, Any]:
        """Per strategy (the marker's): conversations, turns, the turns that lost context and the first
        of them, the requests and their body bytes, the mock's mean TTFT, its errors (requests for a
        turn it did not answer: a request it refused once it knew the conversation)."""
        out: dict[str, dict[str, Any]] = {}
        for t in self.tracks.values():
            s = out.setdefault(
                t.mark.strategy,
                {"conversations": 0, "turns": 0, "lost": 0, "first_loss": "", "requests": 0, "body_bytes": 0,
                 "ttft_s_sum": 0.0, "turn_requests": 0},
            )  # fmt: skip
            s["conversations"] += 1
            s["turns"] += t.turns
            s["lost"] += t.lost
            s["first_loss"] = s["first_loss"] or t.first_loss
            s["requests"] += t.requests
            s["body_bytes"] += t.body_bytes
            s["ttft_s_sum"] += t.ttft_s
            s["turn_requests"] += t.turn_requests
        for s in out.values():
            s["ttft_ms_mean"] = s.pop("ttft_s_sum") * 1000 / s["turns"] if s["turns"] else None
            s["errors"] = s.pop("turn_requests") - s["turns"]
        return {"strategies": out}

    def reset(self) -> None:
        self.tracks.clear()
        self.calls.clear()
