"""A recorded session in one form whatever it came from (the proxy's exchanges, a Codex rollout, a
Claude Code transcript, a public trace corpus): the context before the prompt, the prompt, and the model
turns with their calls, the calls' outputs, the tool time between turns and what was measured.
agentload.recording.taskdoc writes it as a task file.

A public trace holds sizes, not text: its sessions say how many bytes each text had (``*_bytes``) and
leave the texts empty; the task file gets synthetic text of those sizes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..workload.profile import ClientProfile


@dataclass
class RecordedCall:
    name: str
    arguments: str  # a function call's JSON arguments, or a custom tool call's raw input
    custom: bool = False
    output: str | None = None  # what the client sent back (None: the session ended before it did)
    call_id: str = ""
    args_bytes: int | None = None  # a trace's size of the arguments (JSON), where it has no text
    output_bytes: int | None = None  # a trace's size of the output, where it has no text
    latency_s: float | None = None  # this call's own tool time, where the source measured it
    # the subagent this call ran (a Claude Code Task call's side chain): its turns replay as the call's
    # ``subagents``, and its final answer is the call's output
    subagent: RecordedSession | None = None


@dataclass
class RecordedTurn:
    calls: list[RecordedCall] = field(default_factory=list)
    message: str = ""  # text the model wrote in this turn (beside its calls, or as the final answer)
    reasoning_tokens: int | None = None
    tool_time_s: float = 0.0  # from this turn's reply ending to the client's next request
    measured: dict[str, Any] = field(default_factory=dict)  # the task file's per-turn ``recorded``
    message_bytes: int | None = None  # a trace's size of ``message``, where it has no text
    user_bytes: int | None = None  # a user's message before this turn's request (not the prompt)
    pause_s: float | None = None  # the human's pause before that message
    compacted: bool = False  # the context this turn's request carried shrank (the agent compacted it)
    subagents: int = 0  # subagents this turn's calls started


@dataclass
class ContextItem:
    role: str
    parts: list[str]
    warmup: bool = False  # a warm-up (generate: false) carried it


@dataclass
class RecordedSession:
    source: str  # "record", "codex-rollout", "claude-code"
    instructions: str = ""
    tools: list[dict[str, Any]] = field(default_factory=list)
    context: list[ContextItem] = field(default_factory=list)
    prompt: str = ""
    turns: list[RecordedTurn] = field(default_factory=list)  # the last one may be the final answer
    profile: ClientProfile | None = None
    recorded: dict[str, Any] = field(default_factory=dict)  # the task file's task-level ``recorded``
    notes: list[str] = field(default_factory=list)  # what could not be kept, said in the file
    # a public trace: the whole session is one task, every round a turn (its answers too: no calls), and
    # texts are sizes only
    whole: bool = False
    prompt_bytes: int | None = None
    instructions_bytes: int | None = None
    description: str = ""  # the task's description, where the source says more than its client
    name_hint: str = ""  # what tells this session apart from the file's others (its id, a subagent's)
    # other files read into it (a Claude Code session's subagents' agent-*.jsonl): not tasks of their own
    read_also: list[str] = field(default_factory=list)

    @property
    def final_message(self) -> str:
        if self.whole:  # (its last answer is a turn of its own)
            return ""
        last = self.turns[-1] if self.turns else None
        return last.message if last is not None and not last.calls else ""

    @property
    def tool_turns(self) -> list[RecordedTurn]:
        """A task file's ``turns``: those that made calls (the last answer is ``final_message``); for a
        whole session every turn, its answers and its last one too."""
        if self.whole:
            return list(self.turns)
        return [t for t in self.turns if t.calls]


def message_text(content: Any) -> list[str]:
    """A message's text parts, whichever shape its content has (a string, or typed parts)."""
    if isinstance(content, str):
        return [content]
    parts = []
    for p in content or []:
        if isinstance(p, dict):
            text = p.get("text")
            if isinstance(text, str):
                parts.append(text)
            elif p.get("type") in ("input_image", "image_url", "image"):
                parts.append("")  # an image: no text to size (noted by the caller)
        elif isinstance(p, str):
            parts.append(p)
    return parts


def output_text(output: Any) -> str:
    """A tool output as the text its size is taken from: a string, or the text of its parts."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(message_text(output))
    return json.dumps(output, separators=(",", ":"))


def call_of(item: dict[str, Any]) -> RecordedCall | None:
    """A model output item as a call (function or custom), else None."""
    t = item.get("type")
    if t == "function_call":
        return RecordedCall(
            str(item.get("name", "")),
            str(item.get("arguments", "")),
            False,
            None,
            str(item.get("call_id", "")),
        )
    if t == "custom_tool_call":
        return RecordedCall(
            str(item.get("name", "")), str(item.get("input", "")), True, None, str(item.get("call_id", ""))
        )
    return None


def called_tools(session: RecordedSession) -> list[dict[str, Any]]:
    """Tool definitions for the tools a session called, where its log does not list what the client
    declared: a function tool with an empty schema, or a custom tool for a custom call."""
    seen: dict[str, bool] = {}
    todo = [session]
    while todo:  # (an inline subagent calls its parent's tools: the task declares those too)
        for t in todo.pop().turns:
            for c in t.calls:
                seen.setdefault(c.name, c.custom)
                if c.subagent is not None:
                    todo.append(c.subagent)
    return [
        {"type": "custom", "name": n, "description": ""}
        if custom
        else {
            "type": "function",
            "name": n,
            "description": "",
            "parameters": {"type": "object", "properties": {}},
        }
        for n, custom in sorted(seen.items())
    ]
