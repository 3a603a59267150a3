"""One coding task's conversation as the agent holds it: the whole history (for stateless resends and
for recovery) and what is new since the last response (for continuations)."""

from __future__ import annotations

import copy
import secrets
import uuid
from typing import Any

from ..core.compaction import CompactMark
from ..core.forkmark import SPAWNED, ForkMark
from ..workload import Task
from ..workload.profile import MINIMAL, ClientProfile, InstructionsAs, ReasoningAs
from ..workload.synth import synth_text
from .stream import TurnOutcome

# a compacted context's summary: a fixed size until an import carries the trace's own (a TraceLab round's
# input after its compaction); about 2,000 tokens, a summary of a session rather than its transcript
COMPACTED_SUMMARY_BYTES = 8_000


class Conversation:
    """The history in both API shapes: Responses input items and Chat Completions messages, written
    in the client profile's shape (where the system prompt goes, content as parts, client ids)."""

    def __init__(self, task: Task, profile: ClientProfile = MINIMAL) -> None:
        self.task = task
        self.profile = profile
        self.items: list[dict[str, Any]] = []
        # (a recorded client that sent no instructions sends no empty system message either)
        self.messages: list[dict[str, Any]] = (
            [{"role": "system", "content": task.instructions}]
            if task.instructions or not task.context
            else []
        )
        # the leading items a WebSocket warm-up (generate: false) carries: the system prompt, and the
        # recorded context messages the recording's warm-up carried
        self.warmup_count = 0
        if task.instructions and profile.instructions == InstructionsAs.DEVELOPER_MESSAGE:
            self.items.append(self._message("developer", (task.instructions,)))
            self.warmup_count = 1
        for m in task.context:
            if m.warmup and self.warmup_count == len(self.items):
                self.warmup_count += 1
            self.items.append(self._message(m.role, m.parts))
            self.messages.append({"role": m.role, "content": "".join(m.parts)})
        if (
            profile.ws_warmup
            and self.warmup_count == 0
            and self.items
            and self.items[0]["role"] in ("developer", "system")
        ):
            self.warmup_count = 1  # none marked (a session recorded over HTTP): the system prompt, as Codex's
        self.items.append(self._message("user", (task.prompt,)))
        self.messages.append({"role": "user", "content": task.prompt})
        # what a compaction keeps: the system prompt, the context messages and the user's prompt
        self._kept = (len(self.items), len(self.messages))
        self.new_items: list[dict[str, Any]] = list(self.items)
        self.client_metadata = {k: secrets.token_hex(n // 2 + 1)[:n] for k, n in profile.client_metadata}
        self.previous_response_id: str | None = None
        self.conversation_id: str | None = None  # its server-side Conversation (http-conversation's)
        # one per session, as Codex sends its thread id: a prompt cache then holds this session's
        # prefix, not another agent's identical synthetic one
        self.cache_key = "agentload-" + secrets.token_hex(8)
        self.session = 0  # the transport's session when the last response completed
        self._custom: set[str] = set()  # call ids of custom tool calls (their outputs differ in type)
        self.forked = False  # a forked subagent's: it began from its parent's latest response

    def _message(self, role: str, parts: tuple[str, ...]) -> dict[str, Any]:
        content: Any = (
            [{"type": "input_text", "text": p} for p in parts]
            if self.profile.content_parts
            else "".join(parts)
        )
        typed = {"type": "message"} if self.profile.typed_messages else {}
        if self.profile.item_ids:
            return {**typed, "id": _client_id("msg"), "role": role, "content": content}
        return {**typed, "role": role, "content": content}

    def warmed_up(self, response_id: str | None, session: int) -> None:
        """A warm-up carried the first ``warmup_count`` items: the next request continues from it."""
        self.previous_response_id = response_id
        self.new_items = self.items[self.warmup_count :]
        self.session = session

    @property
    def started(self) -> bool:
        return self.previous_response_id is not None

    def add_reply(self, reply: TurnOutcome, session: int) -> None:
        """The model's turn joins the history: its reasoning items (as a ``store: false`` client resends
        them, encrypted content and all, so a stateless turn's bytes include them), then its calls."""
        self.session = session
        p = self.profile
        reasoning = [
            _resend_form(i, p.reasoning)
            for i in reply.output_items
            if i.get("type") == "reasoning" and p.reasoning != ReasoningAs.NONE
        ]
        said = [_message_form(i, p.output_ids) for i in reply.output_items if i.get("type") == "message"]
        ids = {i.get("call_id"): i.get("id") for i in reply.output_items if i.get("call_id")}
        calls = [
            {"type": "custom_tool_call", "call_id": c.call_id, "name": c.name, "input": c.arguments}
            if c.custom
            else {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
            for c in reply.calls
        ]
        if p.output_ids:  # as the server gave them (the OpenAI Agents SDK resends both)
            calls = [{**c, "id": ids.get(c["call_id"]) or "", "status": "completed"} for c in calls]
        self._custom.update(c.call_id for c in reply.calls if c.custom)
        self.items.extend(reasoning + said + calls)
        self.new_items = []
        if reply.calls:
            self.messages.append(
                {
                    "role": "assistant",
                    "content": "".join(p["text"] for m in said for p in m["content"]) or None,
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
        elif said:  # an answer the session goes on after (the user's next message follows it)
            self.messages.append(
                {"role": "assistant", "content": "".join(p["text"] for m in said for p in m["content"])}
            )
        self.previous_response_id = reply.response_id

    def add_user_message(self, text: str) -> None:
        """The user's next message, after an answer or between turns (an imported session's): new in
        the history, sent with the next request as its tool outputs are."""
        item = self._message("user", (text,))
        self.items.append(item)
        self.new_items.append(item)
        self.messages.append({"role": "user", "content": text})

    def compact(self, turns: int, summary_bytes: int = COMPACTED_SUMMARY_BYTES) -> None:
        """The history compacted, as a coding agent does near its context limit: the system prompt, the
        context messages and the user's prompt kept, the rest (``turns`` model turns, their calls and
        outputs) replaced by a summary of ``summary_bytes`` (a user message, with the marker the mock
        counts its turns by: core.compaction). The next request starts a new chain: no
        previous_response_id (the server's copy is the long history), no Conversation, the whole
        compacted context, over a WebSocket as over HTTP."""
        items, messages = self._kept
        summary = CompactMark(turns).on(
            synth_text("text", summary_bytes, f"{self.task.name}:compacted:{turns}")
        )
        self.items = [*self.items[:items], self._message("user", (summary,))]
        self.messages = [*self.messages[:messages], {"role": "user", "content": summary}]
        self.new_items = list(self.items)
        self.previous_response_id = None
        self.conversation_id = None
        self.warmup_count = min(self.warmup_count, items)

    def fork(self, task: Task, child: str, spawned: list[str]) -> Conversation:
        """A forked subagent's conversation: this one's history so far (the server holds it as this
        conversation's latest response), an output for each of the ``spawned`` calls still open in it
        (the subagents run; their results come to the parent later), then the subagent's prompt with
        its fork marker. It continues from this conversation's latest response where the strategy can
        (``previous_response_id``), else resends it all; its own prompt cache key and client ids, as a
        new thread of the client has."""
        out = copy.copy(self)
        out.task = task
        out.items = list(self.items)
        out.messages = list(self.messages)
        out.new_items = list(self.new_items)
        out._custom = set(self._custom)
        out.conversation_id = None  # (a Conversation's items are its own: a fork starts another)
        out.cache_key = "agentload-" + secrets.token_hex(8)
        out.forked = True
        for call_id in spawned:
            out.add_tool_output(call_id, SPAWNED)
        prompt = ForkMark(task.name, child).on(task.prompt)
        out.items.append(out._message("user", (prompt,)))
        out.new_items.append(out.items[-1])
        out.messages.append({"role": "user", "content": prompt})
        return out

    def add_tool_output(self, call_id: str, output: str) -> None:
        kind = "custom_tool_call_output" if call_id in self._custom else "function_call_output"
        item: dict[str, Any] = {"type": kind, "call_id": call_id, "output": output}
        if self.profile.item_ids:
            item = {"type": kind, "id": _client_id("ctco" if kind.startswith("custom") else "fco"), **item}
        self.items.append(item)
        self.new_items.append(item)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


RESENT_REASONING = (
    "type",
    "id",
    "summary",
    "encrypted_content",
)  # a reasoning item's fields a client resends


def _client_id(prefix: str) -> str:
    """An id a client puts on an item it makes (Codex: ``msg_`` or ``fco_`` and a UUID)."""
    return f"{prefix}_{uuid.uuid4()}"


def _message_form(item: dict[str, Any], status: bool) -> dict[str, Any]:
    """An assistant message the model wrote beside its calls, as an input item (its text parts; its
    status where the client resends output items with theirs)."""
    parts = [
        {"type": "output_text", "text": p.get("text", "")}
        for p in item.get("content") or []
        if isinstance(p, dict)
    ]
    out: dict[str, Any] = {"type": "message", "role": "assistant", "content": parts}
    if item.get("id"):
        out = {"type": "message", "id": item["id"], "role": "assistant", "content": parts}
    if status:
        out["status"] = "completed"
    return out


def _resend_form(item: dict[str, Any], how: ReasoningAs) -> dict[str, Any]:
    """A reasoning output item as an input item: its id, summary and encrypted content (no status), or
    a reference to it by id (the server holds it)."""
    if how == ReasoningAs.REFERENCE:
        return {"type": "item_reference", "id": item.get("id", "")}
    keep = ("type", "summary", "encrypted_content") if how == ReasoningAs.WITHOUT_ID else RESENT_REASONING
    return {k: v for k, v in item.items() if k in keep and v is not None}
