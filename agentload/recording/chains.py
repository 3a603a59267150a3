"""The proxy's exchanges linked into conversations, and a conversation read as RecordedSessions.

A request continues a conversation when its ``previous_response_id`` is one of that conversation's
responses (HTTP chained, WebSocket mode), or names the same server-side Conversation
(``conversation``: the Conversations API holds the history), or when its input begins with the whole input the
conversation last sent and goes on past it (stateless HTTP and Chat Completions resend the history;
Codex after a reconnect), with the same ``prompt_cache_key`` where both have one (two agents on the
same task send the same first request: the key, one per session, tells them apart). Otherwise it
begins one. Each exchange keeps only the items that were new to its
conversation, so a long stateless session is held once, not once per turn.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core.marker import find_mark, strip_mark
from ..core.protocol import TASK_METADATA_KEY
from ..workload.api_fields import CHAT_ONLY, RESPONSES_ONLY, chat_to_responses, responses_to_chat
from ..workload.profile import (
    BUILT_FIELDS,
    CHAT_BUILT_FIELDS,
    CacheKeyOn,
    ClientProfile,
    InstructionsAs,
    ReasoningAs,
)
from .exchange import Exchange
from .session import ContextItem, RecordedSession, RecordedTurn, call_of, message_text, output_text

MAX_CONVERSATIONS = 1000  # held in memory at once; the least recently active are let go (already written)
VOLATILE = ("id", "status")  # what a client may drop or change when it resends an item
OUTPUT_TYPES = ("function_call", "custom_tool_call")  # the model's output items a client resends


def _hash(item: Any) -> bytes:
    """An item's identity across resends: a client resending the model's output items (Codex after a
    reconnect, a stateless client) may leave out their ids and status."""
    if isinstance(item, dict):
        item = {k: v for k, v in item.items() if k not in VOLATILE}
    return hashlib.sha1(json.dumps(item, sort_keys=True, separators=(",", ":")).encode()).digest()


def chat_items(messages: list[Any]) -> list[dict[str, Any]]:
    """Chat Completions messages as Responses input items (one builder serves both APIs)."""
    items: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": m.get("tool_call_id", ""),
                    "output": m.get("content", ""),
                }
            )
            continue
        if role == "assistant" and m.get("tool_calls"):
            for tc in m["tool_calls"]:
                fn = tc.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": tc.get("id", ""),
                        "name": fn.get("name", ""),
                        "arguments": fn.get("arguments", ""),
                    }
                )
            continue
        items.append({"type": "message", "role": role, "content": m.get("content") or ""})
    return items


def conversation_of(req: dict[str, Any]) -> str | None:
    """The Conversation a Responses request names (``conversation``: its id, or ``{"id": ...}``)."""
    value = req.get("conversation")
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def request_items(ex: Exchange) -> list[dict[str, Any]]:
    req = ex.request or {}
    if ex.api == "chat":
        return chat_items(req.get("messages") or [])
    raw = req.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    # a message may leave out its type (the spec's EasyInputMessage: the OpenAI Agents SDK and opencode
    # send them so): it is a message all the same
    return [
        {"type": "message", **i} if "type" not in i and "role" in i else i
        for i in raw or []
        if isinstance(i, dict)
    ]


@dataclass
class Step:
    """One exchange of a conversation, with the items that were new to it."""

    ex: Exchange
    new_items: list[dict[str, Any]]
    chained: bool  # continued by previous_response_id (sent only what was new)


@dataclass
class Conversation:
    id: int
    steps: list[Step] = field(default_factory=list)
    length: int = 0  # the items of the whole input its last request stood on
    response_ids: set[str] = field(default_factory=set)
    prefix: bytes = b""  # the rolling digest of that input (what Chains indexes it by)
    cache_key: str | None = None  # the prompt_cache_key its requests send
    named: str | None = None  # the server-side Conversation (``conversation``) its requests name


def _roll(start: bytes, hashes: Iterable[bytes]) -> list[bytes]:
    """The digest of each prefix, continuing from ``start`` (a prefix's own digest): equal digests,
    equal prefixes."""
    out, h = [], start
    for item in hashes:
        h = hashlib.sha1(h + item).digest()
        out.append(h)
    return out


class Chains:
    """Links exchanges into conversations as they end."""

    def __init__(self) -> None:
        self.conversations: OrderedDict[int, Conversation] = OrderedDict()
        self._by_response: dict[str, int] = {}
        self._by_conversation: dict[str, int] = {}  # by the server-side Conversation its requests name
        self._by_prefix: dict[bytes, int] = {}  # a conversation by the digest of its last whole input
        self._ids = itertools.count(1)

    def add(self, ex: Exchange) -> Conversation | None:
        """Files ``ex`` under its conversation (None: nothing readable in it)."""
        if ex.request is None:
            return None
        items = request_items(ex)
        prev = (ex.request or {}).get("previous_response_id")
        conv = self.conversations.get(self._by_response.get(prev, -1)) if prev else None
        named = conversation_of(ex.request or {})
        if conv is None and named:  # a Conversation holds the history, as a stored response does
            conv = self.conversations.get(self._by_conversation.get(named, -1))
        key = (ex.request or {}).get("prompt_cache_key")
        key = key if isinstance(key, str) else None
        if conv is not None:  # the server holds the history: the request's items follow its last output
            added = [*(_hash(i) for i in conv.steps[-1].ex.output), *(_hash(i) for i in items)]
            digests, length = _roll(conv.prefix, added), conv.length + len(added)
            new, chained = items, True
        else:
            digests = _roll(b"", (_hash(i) for i in items))
            length = len(digests)
            conv = self._growing(digests, key)
            new, chained = items[conv.length if conv is not None else 0 :], False
        if conv is None:
            conv = Conversation(next(self._ids))
            self.conversations[conv.id] = conv
        conv.steps.append(Step(ex, new, chained))
        conv.length = length
        conv.cache_key = key or conv.cache_key
        if digests:
            if self._by_prefix.get(conv.prefix) == conv.id:
                del self._by_prefix[conv.prefix]
            conv.prefix = digests[-1]
            self._by_prefix[conv.prefix] = conv.id
        if ex.response_id:
            conv.response_ids.add(ex.response_id)
            self._by_response[ex.response_id] = conv.id
        if named:
            conv.named = named
            self._by_conversation[named] = conv.id
        self.conversations.move_to_end(conv.id)
        while len(self.conversations) > MAX_CONVERSATIONS:
            _, old = self.conversations.popitem(last=False)
            for rid in old.response_ids:
                self._by_response.pop(rid, None)
            if self._by_prefix.get(old.prefix) == old.id:
                del self._by_prefix[old.prefix]
            if old.named and self._by_conversation.get(old.named) == old.id:
                del self._by_conversation[old.named]
        return conv

    def _growing(self, digests: list[bytes], key: str | None) -> Conversation | None:
        """The conversation whose last whole input the request's input begins with and goes on past
        (the longest such, of the same prompt_cache_key), found by the digests of the request's
        prefixes: one look-up per item, however many conversations."""
        for digest in reversed(digests[:-1]):
            conv = self.conversations.get(self._by_prefix.get(digest, -1))
            if conv is not None and (key is None or conv.cache_key in (None, key)):
                return conv
        return None


# ---------------------------------------------------------------------------------------- reading
def strategy_of(steps: list[Step]) -> str:
    """The strategy that, replayed with the session's profile, sends what the client sent. A WebSocket
    session that never continued (the OpenAI Agents SDK's WebSocket model resends everything, store or
    not) is ``ws``: its profile says it never continues, so no strategy chains it."""
    first = steps[0].ex
    if first.api == "chat":
        return "chat"
    chained = any(s.chained for s in steps)
    store = bool((first.request or {}).get("store", True))
    if first.via == "ws":
        return "ws-stored" if store and chained else "ws"
    if any(conversation_of(s.ex.request or {}) for s in steps):
        return "http-conversation"
    return "http-chained" if chained else "http-stateless"


def _raw_items(req: dict[str, Any]) -> list[dict[str, Any]]:
    raw = req.get("input")
    return [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []


def _reasoning_as(steps: list[Step]) -> ReasoningAs:
    """How the client resent the model's reasoning: by reference, as items, or (a request that resent
    the history after reasoning came, with none of it) not at all."""
    reasoned = False
    for s in steps:
        items = _raw_items(s.ex.request or {})
        if any(i.get("type") == "item_reference" for i in items):
            return ReasoningAs.REFERENCE
        resent = [i for i in items if i.get("type") == "reasoning"]
        if resent:
            return ReasoningAs.ITEM if any("id" in i for i in resent) else ReasoningAs.WITHOUT_ID
        if reasoned and not s.chained and len(items) > 1:
            return ReasoningAs.NONE
        reasoned = reasoned or any(o.get("type") == "reasoning" for o in s.ex.output)
    return ReasoningAs.ITEM


def _extras(req: dict[str, Any], chat: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The client's constant fields for Responses requests and for chat requests: its own API's as it
    sent them, the other's translated where that API has a word for them (agentload.workload.api_fields)."""
    if chat:
        chat_extra = {k: v for k, v in req.items() if k not in CHAT_BUILT_FIELDS and k not in RESPONSES_ONLY}
        responses = chat_to_responses(chat_extra)
    else:
        responses = {k: v for k, v in req.items() if k not in BUILT_FIELDS and k not in CHAT_ONLY}
        chat_extra = {k: v for k, v in responses_to_chat(responses).items() if k not in CHAT_BUILT_FIELDS}
    return {k: v for k, v in responses.items() if k not in BUILT_FIELDS}, chat_extra


def profile_of(steps: list[Step], name: str) -> ClientProfile:
    """The request shape the client sent, read from its requests."""
    reqs = [s.ex.request or {} for s in steps]
    gens = [s for s in steps if s.ex.generate] or steps
    last = gens[-1].ex.request or {}
    first_items = steps[0].new_items
    messages = [i for i in first_items if i.get("type") == "message"]
    continued = [s.ex.request or {} for s in steps if s.chained]
    if any("instructions" in r for r in reqs) or not any(
        m.get("role") in ("developer", "system") for m in messages
    ):
        instructions = InstructionsAs.FIELD
    else:
        instructions = InstructionsAs.DEVELOPER_MESSAGE
    if continued:
        cache_on = CacheKeyOn.EVERY if all("prompt_cache_key" in r for r in continued) else (
            CacheKeyOn.FIRST if any("prompt_cache_key" in r for r in reqs) else CacheKeyOn.NEVER)  # fmt: skip
    else:
        cache_on = CacheKeyOn.EVERY if "prompt_cache_key" in last else CacheKeyOn.NEVER
    meta = _mapping(last, "client_metadata")
    reasoning = _mapping(last, "reasoning")
    ws = steps[0].ex.via == "ws"
    raw = [i for r in reqs for i in _raw_items(r)]
    extra, chat_extra = _extras(last, steps[0].ex.api == "chat")
    return ClientProfile(
        name=name,
        instructions=instructions,
        content_parts=any(isinstance(m.get("content"), list) for m in messages),
        item_ids=any("id" in m for m in messages),
        resend_tools=any("tools" in r for r in continued),
        prompt_cache_key=cache_on,
        include=tuple(str(i) for i in last.get("include") or ()),
        client_metadata=tuple(
            (str(k), min(2048, len(v if isinstance(v, str) else json.dumps(v)))) for k, v in meta.items()
        ),
        extra=tuple(extra.items()),
        reasoning_summary=reasoning.get("summary") if isinstance(reasoning.get("summary"), str) else None,
        ws_stream=ws and any("stream" in r for r in reqs),
        ws_warmup=ws and any(not s.ex.generate for s in steps),
        typed_messages=not any("role" in i and "type" not in i for i in raw),
        output_ids=any(i.get("type") in OUTPUT_TYPES and "id" in i and "status" in i for i in raw),
        reasoning=_reasoning_as(steps),
        # (a session of one request says nothing: it could have continued)
        continues=any(s.chained for s in steps) or len(gens) < 2,
        chat_extra=tuple(chat_extra.items()),
    )


def sessions_of(conv: Conversation, profile_name: str) -> list[RecordedSession]:
    """The conversation as recorded sessions: one per prompt (a follow-up prompt after a final answer
    begins the next, whose history the replay does not carry: said in its notes)."""
    steps = conv.steps
    profile = profile_of(steps, profile_name)
    strategy = strategy_of(steps)
    out: list[RecordedSession] = []
    cur: RecordedSession | None = None
    pending: dict[str, tuple[RecordedTurn, int]] = {}  # call_id -> (turn, index)
    carried: dict[str, int] = {
        "sent": 0,
        "received": 0,
        "payload_sent": 0,
        "payload_received": 0,
        "warmups": 0,
    }
    warm_items: list[dict[str, Any]] = []
    failed = 0
    last_end: float | None = None
    for step in steps:
        ex = step.ex
        for item in step.new_items:  # the outputs of earlier calls
            t = item.get("type")
            if t in ("function_call_output", "custom_tool_call_output") and item.get("call_id") in pending:
                turn, i = pending.pop(item["call_id"])
                turn.calls[i].output = output_text(item.get("output"))
        if not ex.generate:  # a warm-up: its items open the context, its bytes go to the next turn
            warm_items.extend(step.new_items)
            _carry(carried, ex)
            carried["warmups"] += 1
            continue
        if not ex.ok:
            failed += 1
            continue
        if cur is None or (cur.turns and not cur.turns[-1].calls):
            follow = cur is not None
            cur = _begin(warm_items + step.new_items, len(warm_items), ex, strategy, profile)
            if follow:
                cur.notes.append("a follow-up prompt: the earlier prompts' history is not replayed")
            warm_items = []
            out.append(cur)
        elif last_end is not None and cur.turns:
            cur.turns[-1].tool_time_s = max(0.0, ex.started - last_end)
        turn = _turn(ex, carried, step.chained, failed)
        failed = 0
        cur.turns.append(turn)
        for i, call in enumerate(turn.calls):
            pending[call.call_id] = (turn, i)
        last_end = ex.ended
    for s in out:
        if any(c.output is None for t in s.turns for c in t.calls):
            s.notes.append("the session ended before the last calls' outputs were sent")
    return out


def _mapping(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _carry(carried: dict[str, int], ex: Exchange) -> None:
    carried["sent"] += ex.bytes_sent
    carried["received"] += ex.bytes_received
    carried["payload_sent"] += ex.payload_sent
    carried["payload_received"] += ex.payload_received


def _begin(
    items: list[dict[str, Any]], warm: int, ex: Exchange, strategy: str, profile: ClientProfile
) -> RecordedSession:
    req = ex.request or {}
    s = RecordedSession(source="record", profile=profile)
    instructions = req.get("instructions")
    # (agentload's own marker off: a replay marks its own conversations)
    system = instructions if isinstance(instructions, str) else ""
    s.instructions = strip_mark(system)
    tools = req.get("tools") or []
    if ex.api == "chat":  # chat tools: {type: function, function: {...}}
        tools = [{"type": "function", **(t.get("function") or {})} for t in tools if isinstance(t, dict)]
    s.tools = [t for t in tools if isinstance(t, dict)]
    messages = []
    for i, item in enumerate(items):
        if item.get("type") == "message" and item.get("role") in ("developer", "system", "user", "assistant"):
            messages.append(
                ContextItem(str(item["role"]), message_text(item.get("content")), warmup=i < warm)
            )
        else:
            s.notes.append(f"an input item of type {item.get('type')!r} before the prompt is not replayed")
    if ex.api == "chat" and messages and messages[0].role == "system" and not s.instructions:
        system = "".join(messages.pop(0).parts)
        s.instructions = strip_mark(system)
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if users:
        s.prompt = "".join(messages.pop(users[-1]).parts)
    s.context = messages
    s.recorded = {
        "source": "agentload record",
        "client": ex.client,
        "via": ex.via,
        "strategy": strategy,
        "model": req.get("model", ""),
        "compression": ex.compression,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ex.started)),
    }
    metadata = _mapping(req, "metadata")
    mark = find_mark(system)  # an agentload agent's conversation names its task in-band too
    task = metadata.get(TASK_METADATA_KEY) or (mark.task if mark is not None else None)
    if task:
        s.recorded["agentload_task"] = task
    return s


def _turn(ex: Exchange, carried: dict[str, int], chained: bool, failed: int) -> RecordedTurn:
    turn = RecordedTurn()
    for item in ex.output:
        call = call_of(item)
        if call is not None:
            turn.calls.append(call)
        elif item.get("type") == "message":
            turn.message += "".join(message_text(item.get("content")))
    # a response without usage (a chat stream the client asked none of: aider's) has its tokens unknown
    usage = ex.usage or {}
    known = 0 if ex.usage is not None else None
    details = usage.get("output_tokens_details") or {}
    turn.reasoning_tokens = details.get("reasoning_tokens")
    m: dict[str, Any] = {
        "bytes_sent": ex.bytes_sent + carried["sent"],
        "bytes_received": ex.bytes_received + carried["received"],
        "payload_bytes_sent": ex.payload_sent + carried["payload_sent"],
        "payload_bytes_received": ex.payload_received + carried["payload_received"],
        "ttft_ms": round(ex.ttft_ms, 1) if ex.ttft_ms is not None else None,
        "duration_ms": round(ex.duration_ms, 1) if ex.duration_ms is not None else None,
        "input_tokens": usage.get("input_tokens", known),
        "cached_tokens": (usage.get("input_tokens_details") or {}).get("cached_tokens", known),
        "output_tokens": usage.get("output_tokens", known),
        "reasoning_tokens": details.get("reasoning_tokens", known),
        "continued": chained,
    }
    if carried["warmups"]:
        m["warmups"] = carried["warmups"]
    if failed:
        m["failed_attempts"] = failed
    turn.measured = m
    for k in carried:
        carried[k] = 0
    return turn
