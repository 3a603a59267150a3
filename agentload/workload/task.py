"""A coding task: the values a task file describes (see agentload.workload.schema for the file format).

A task is a replay script of one real coding session: the instructions and tool definitions the agent
sends (their size is what stateless HTTP resends every turn), the user prompt, and per turn the tool
calls the model makes with the size, kind and latency of each tool result. The mock's scripted model
follows the same task, so the client and the mock agree on every byte without talking about it.
Against a real model, the ``tool_profile`` answers whatever tool calls arrive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .profile import ClientProfile
from .synth import TextCache, synth_text


@dataclass(frozen=True)
class ToolResultSpec:
    """What a tool call returns: literal ``text``, or ``bytes`` of synthetic content of ``kind``."""

    kind: str
    bytes: int
    text: str | None = None
    latency_s: float = 0.0

    def render(self, seed: str, cache: TextCache | None = None) -> str:
        if self.text is not None:
            return self.text
        if cache is not None:
            return cache.text(self.kind, self.bytes, seed)
        return synth_text(self.kind, self.bytes, seed)


class SubagentKind(StrEnum):
    """How a subagent begins, as real clients start theirs."""

    FRESH = "fresh"  # its own conversation: its own instructions and prompt (Claude Code's Task tool)
    FORK = "fork"  # continues from its parent's latest response, then its own prompt (a forked agent)


@dataclass(frozen=True)
class Subagent:
    """A subagent a call spawns: how it begins, and its script (a task of its own, named after its
    place in its parent: ``parent.t1c0s2``, so the mock finds its script through its root task)."""

    kind: SubagentKind
    task: Task


@dataclass(frozen=True)
class ToolCall:
    tool: str
    arguments: str  # the JSON string the model emits, exactly as on the wire (a custom tool: its input)
    result: ToolResultSpec
    custom: bool = False  # a call of a custom tool (custom_tool_call items, raw input)
    # the subagents it spawns, run in parallel; the call's output is their final messages (fan-in)
    subagents: tuple[Subagent, ...] = ()


@dataclass(frozen=True)
class ContextMessage:
    """A message the client sends before the prompt (a recorded client's developer messages, its
    environment context): its role, its text parts, and whether a warm-up carries it."""

    role: str
    parts: tuple[str, ...]
    warmup: bool = False


@dataclass(frozen=True)
class Turn:
    """One model turn: its calls (none: an answer the session goes on after, in an imported session),
    and what a recorded session says of it beside them."""

    calls: tuple[ToolCall, ...]
    reasoning_tokens: int | None = None  # how much the model thinks before this turn's calls
    message: str | None = None  # what the model writes before this turn's calls (recorded sessions)
    recorded: dict[str, Any] | None = field(default=None, compare=False)  # what a recording measured
    # imported sessions: the user's message this turn's request carries and the human's pause before it,
    # whether the agent compacted its context for it (all replayed: client.agent), how many subagents
    # its calls started
    user_message: str | None = None
    pause_s: float | None = None
    compacted: bool = False
    subagents: int = 0


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    instructions: str
    tools: tuple[dict[str, Any], ...]
    prompt: str
    turns: tuple[Turn, ...]
    final_message: str
    tool_profile: dict[str, ToolResultSpec]
    max_turns: int
    reasoning_tokens: int | None = None  # per model turn, unless a turn says; None: the model's default
    source: str = field(default="", compare=False)
    context: tuple[ContextMessage, ...] = ()  # messages before the prompt (recorded clients')
    client_profile: ClientProfile | None = None  # the recorded client's request shape
    recorded: dict[str, Any] = field(default_factory=dict, compare=False)  # where and how it was recorded

    @property
    def function_tools(self) -> tuple[dict[str, Any], ...]:
        """The function tools (what Chat Completions can declare)."""
        return tuple(t for t in self.tools if t.get("type", "function") == "function")

    @property
    def tool_calls(self) -> int:
        return sum(len(t.calls) for t in self.turns)

    def reasoning_for(self, turn: int) -> int | None:
        """Reasoning tokens of model turn ``turn`` (the final answer is the turn after the last), or None
        for the reasoning model's default at the requested effort."""
        if turn < len(self.turns) and self.turns[turn].reasoning_tokens is not None:
            return self.turns[turn].reasoning_tokens
        return self.reasoning_tokens

    def subagents_for(self, turn: int, index: int, tool: str) -> tuple[Subagent, ...]:
        """The subagents the ``index``-th call of model turn ``turn`` spawns: the script's, where the
        call is the one the script has there (a real model's own calls spawn none)."""
        if turn < len(self.turns) and index < len(self.turns[turn].calls):
            scripted = self.turns[turn].calls[index]
            if scripted.tool == tool:
                return scripted.subagents
        return ()

    def descendants(self) -> Iterator[Task]:
        """Every subagent's task below this one, depth first."""
        for turn in self.turns:
            for call in turn.calls:
                for sub in call.subagents:
                    yield sub.task
                    yield from sub.task.descendants()

    def subtask(self, name: str) -> Task | None:
        """The subagent's task of that (qualified) name below this one, or None."""
        return next((t for t in self.descendants() if t.name == name), None)

    @property
    def nesting(self) -> int:
        """How deep its subagents nest (0: none)."""
        return max(
            (1 + s.task.nesting for turn in self.turns for c in turn.calls for s in c.subagents), default=0
        )

    def renamed(self, name: str) -> Task:
        """This task under another name, its subagents' names following (``name.t1c0s2``)."""
        turns = tuple(
            dataclasses.replace(
                turn,
                calls=tuple(
                    dataclasses.replace(
                        call,
                        subagents=tuple(
                            Subagent(s.kind, s.task.renamed(f"{name}.{subagent_place(ti, ci, si)}"))
                            for si, s in enumerate(call.subagents)
                        ),
                    )
                    for ci, call in enumerate(turn.calls)
                ),
            )
            for ti, turn in enumerate(self.turns)
        )
        return dataclasses.replace(self, name=name, turns=turns)

    def profile_for(self, tool: str) -> ToolResultSpec:
        """Result spec for a tool call a real model made (falls back to the ``default`` profile)."""
        return self.tool_profile.get(tool) or self.tool_profile["default"]

    def result_for(self, turn: int, index: int, tool: str) -> ToolResultSpec:
        """What the ``index``-th call of model turn ``turn`` returns: the scripted result where the
        call is the one the script has there, else the tool's profile (a real model's own calls)."""
        if turn < len(self.turns) and index < len(self.turns[turn].calls):
            scripted = self.turns[turn].calls[index]
            if scripted.tool == tool:
                return scripted.result
        return self.profile_for(tool)


def subagent_place(turn: int, call: int, index: int) -> str:
    """A subagent's place in its parent, the last part of its task's name: ``t1c0s2``."""
    return f"t{turn}c{call}s{index}"


ROOT_SEPARATOR = "."  # a subagent's task name is its root task's, then its place at each level


def root_of(name: str) -> str:
    """The root task's name in a subagent's task name (task names themselves hold no dot)."""
    return name.split(ROOT_SEPARATOR, 1)[0]
