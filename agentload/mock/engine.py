"""Turns a validated create request into a Response and its timed stream of events.

Shared by the HTTP (SSE and JSON) and WebSocket front ends, so both transports produce the same
objects. The conversation state kept between turns is small (turn count, token count, pending call
ids), never the items themselves: a long run against the mock holds memory per *response*, not per
token of history.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from ..core.compaction import last_compaction
from ..core.jsoncodec import dumps_utf8
from ..core.marker import Mark
from ..core.protocol import ENCRYPTED_REASONING, TASK_METADATA_KEY
from ..core.tokens import BYTES_PER_TOKEN, estimate_tokens, text_tokens
from ..workload import synth_text
from .config import MockConfig, RequestWork
from .continuity import OUTPUT_TYPES, Context, Continuity, Track, mark_in
from .conversation_store import ConversationStore, StoredConversation
from .errors import previous_not_found
from .forks import Forks
from .model import Plan, PlannedCall, ScriptedModel
from .models import SUMMARY_TOKENS_PER_REASONING_TOKEN, model_info
from .opaque import Obfuscator, encrypted_content
from .prompt_cache import PromptCache, reported, scope_of
from .requests import (
    ChatRequest,
    CreateRequest,
    check_tool_outputs,
    count_model_turns,
    is_model_item,
    unanswered_calls,
)
from .tools import structured_answer


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


@dataclass(frozen=True)
class ResponseState:
    """What the server remembers of a response to continue from it."""

    id: str
    task: str | None
    seed: str
    turns: int  # model turns in the conversation up to and including this response
    context_tokens: int  # input + output tokens of the conversation so far
    pending_calls: tuple[str, ...]  # function calls the next request must answer
    response: dict[str, Any] | None = None  # the final Response object (stored responses only)
    prefix_tokens: int = 0  # of context_tokens, the latest request's instructions and tools
    tools: tuple[dict[str, Any], ...] = ()  # the tools the conversation declared last (what it may call)
    context: Context = Context()  # what its prompt held and its calls (mock.continuity)
    follows: str | None = None  # the agentload conversation it belongs to (its marker's id)


class ResponseStore:
    """Responses created with store=true, for previous_response_id and GET /v1/responses/{id}.
    Bounded, least recently used out first."""

    def __init__(self, max_responses: int) -> None:
        self.max = max_responses
        self._d: OrderedDict[str, ResponseState] = OrderedDict()

    def get(self, rid: str) -> ResponseState | None:
        st = self._d.get(rid)
        if st is not None:
            self._d.move_to_end(rid)
        return st

    def put(self, st: ResponseState) -> None:
        self._d[st.id] = st
        self._d.move_to_end(st.id)
        while len(self._d) > self.max:
            self._d.popitem(last=False)


@dataclass
class Generation:
    """One response being produced: its object, its usage, and its events with their time offsets.

    Time runs: the server's own work on the request (``server_s``: mock.config.ServerCost, 0 unless a
    server profile is on; ``response.created`` comes after it), the prompt's prefill (``ttft_s``), then
    the model's reasoning (``reasoning_s``, summary deltas streaming through it when a summary was
    asked), then the visible output at the output pace. The time to first token a client measures is
    the first visible delta's: server work, prefill and reasoning.
    """

    req: CreateRequest
    id: str
    created_at: int
    plan: Plan
    usage: dict[str, Any]
    ttft_s: float
    state: ResponseState
    config: MockConfig
    reasoning_tokens: int = 0
    effort: str | None = None
    summary_text: str = ""
    server_s: float = 0.0  # the server's work before the model starts (ServerCost of ``work``)
    work: RequestWork | None = None  # what that work was (counted when a server profile is on)
    conversation: StoredConversation[ResponseState] | None = None  # the conversation it continues and joins
    joining: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # its own input items, to join
    consumed: int = 0  # of the conversation's waiting items, those its input began with

    @property
    def reasoning_s(self) -> float:
        return self.reasoning_tokens * self.config.latency.token_interval_s()

    @property
    def first_output_s(self) -> float:
        return self.server_s + self.ttft_s + self.reasoning_s

    def reserved_tokens(self) -> int:
        """What OpenAI reserves against TPM at request start: input plus the estimated output."""
        out = (
            self.req.max_output_tokens
            if self.req.max_output_tokens is not None
            else self.usage["output_tokens"]
        )
        return int(self.usage["input_tokens"]) + int(out)

    def response_object(self, status: str, output: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
        """The Response object as OpenAI's spec has it. ``usage`` only once it is known and no ``user``
        (deprecated): the spec types both as present-or-absent, not null."""
        r = self.req
        done = status == "completed"
        obj = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "completed_at": int(time.time()) if done else None,
            "error": None,
            "incomplete_details": None,
            "instructions": r.instructions,
            "max_output_tokens": r.max_output_tokens,
            "max_tool_calls": None,
            "model": r.model,
            "output": output,
            "parallel_tool_calls": True if r.parallel_tool_calls is None else r.parallel_tool_calls,
            "previous_response_id": r.previous_response_id,
            "prompt_cache_key": r.prompt_cache_key,
            "reasoning": {"effort": self.effort, "summary": r.reasoning_summary},
            "safety_identifier": None,
            "service_tier": "default",
            "store": r.store,
            "temperature": 1.0,
            "text": {"format": r.text_format or {"type": "text"}, "verbosity": r.verbosity or "medium"},
            "tool_choice": r.tool_choice if r.tool_choice is not None else "auto",
            "tools": r.tools,
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "metadata": r.metadata,
        }
        if self.conversation is not None:
            obj["conversation"] = {"id": self.conversation.id}
        if with_usage:
            obj["usage"] = self.usage
        return obj

    @property
    def _reasons(self) -> bool:
        return self.reasoning_tokens > 0

    def _first_index(self) -> int:
        """Output index of the first visible item (the reasoning item, when there is one, is 0)."""
        return 1 if self._reasons else 0

    @functools.cached_property
    def _encrypted(self) -> str | None:
        """The reasoning's encrypted content when asked for: made once, sent in added, done and completed."""
        if ENCRYPTED_REASONING not in self.req.include:
            return None
        return encrypted_content(self.reasoning_tokens, hash(self.id))

    def _call_item_id(self, index: int, call: PlannedCall) -> str:
        return self._item_id("ctc" if call.custom else "fc", index)

    def _reasoning_item(self, done: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self._item_id("rs", 0), "type": "reasoning", "summary": []}
        if self._encrypted is not None:
            item["encrypted_content"] = self._encrypted
        if done and self.summary_text:
            item["summary"] = [{"type": "summary_text", "text": self.summary_text}]
        return item

    def output_items(self) -> list[dict[str, Any]]:
        """Reasoning first, then the message (the answer, or what the model says before its calls),
        then the calls."""
        items = [self._reasoning_item(done=True)] if self._reasons else []
        if self.plan.message is not None:
            items.append(_message_item(self._item_id("msg", 0), self.plan.message, "completed"))
        return items + [
            _call_item(self._call_item_id(i, c), c, c.arguments, "completed")
            for i, c in enumerate(self.plan.calls)
        ]

    def final_response(self) -> dict[str, Any]:
        return self.response_object("completed", self.output_items(), True)

    def _item_id(self, prefix: str, index: int) -> str:
        return f"{prefix}_{self.id[5:37]}{index:04d}"

    def events(self) -> Iterator[tuple[float, dict[str, Any]]]:
        """(seconds after the request was read, event without sequence_number), in order: created,
        the reasoning item, the message, the calls, completed."""
        t0 = self.server_s
        yield t0, {"type": "response.created", "response": self.response_object("in_progress", [], False)}
        yield (
            t0,
            {"type": "response.in_progress", "response": self.response_object("in_progress", [], False)},
        )
        d = _Deltas(
            max(1, self.config.chunk_tokens) * BYTES_PER_TOKEN,
            Obfuscator(hash(self.id)) if self.req.obfuscation else None,
        )
        t = t0 + self.ttft_s
        if self._reasons:
            t = yield from self._reasoning_events(t, d)
        index = self._first_index()
        if self.plan.message is not None:
            t = yield from self._message_events(t, index, self.plan.message, d)
            index += 1  # (the calls after a message the model wrote before them)
        for i, call in enumerate(self.plan.calls):
            t = yield from self._call_events(t, index + i, self._call_item_id(i, call), call, d)
        yield t, {"type": "response.completed", "response": self.final_response()}

    def _reasoning_events(self, t: float, d: _Deltas) -> Timed:
        """The reasoning item from ``t``: its summary (when asked for) streams through the reasoning
        time; returns the time it ends."""
        rid = self._item_id("rs", 0)
        yield (
            t,
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": self._reasoning_item(False),
            },
        )
        end = t + self.reasoning_s
        if self.summary_text:
            text = self.summary_text
            head = {"item_id": rid, "output_index": 0, "summary_index": 0}
            summary_part = {"type": "summary_text", "text": ""}
            yield t, {"type": "response.reasoning_summary_part.added", **head, "part": summary_part}
            per = self.reasoning_s / max(1, text_tokens(text))
            pieces, _ = d.timed(text, t, per)
            for at, piece in pieces:
                yield at, d.event({"type": "response.reasoning_summary_text.delta", **head}, piece)
            t = end
            yield t, {"type": "response.reasoning_summary_text.done", **head, "text": text}
            yield (
                t,
                {
                    "type": "response.reasoning_summary_part.done",
                    **head,
                    "part": {**summary_part, "text": text},
                },
            )
        t = end
        yield (
            t,
            {"type": "response.output_item.done", "output_index": 0, "item": self._reasoning_item(True)},
        )
        return t

    def _message_events(self, t: float, index: int, text: str, d: _Deltas) -> Timed:
        """The message item at ``index`` from ``t``, its text at the output pace; returns when it ends."""
        item_id = self._item_id("msg", 0)
        at_msg = {"item_id": item_id, "output_index": index, "content_index": 0}
        yield (
            t,
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": _message_item(item_id, "", "in_progress", parts=False),
            },
        )
        part: dict[str, Any] = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield t, {"type": "response.content_part.added", **at_msg, "part": part}
        pieces, t = d.timed(text, t, self.config.latency.token_interval_s())
        for at, piece in pieces:
            yield (
                at,
                {**d.event({"type": "response.output_text.delta", **at_msg}, piece), "logprobs": []},
            )
        yield t, {"type": "response.output_text.done", **at_msg, "text": text, "logprobs": []}
        yield t, {"type": "response.content_part.done", **at_msg, "part": {**part, "text": text}}
        yield (
            t,
            {
                "type": "response.output_item.done",
                "output_index": index,
                "item": _message_item(item_id, text, "completed"),
            },
        )
        return t

    def _call_events(self, t: float, index: int, item_id: str, call: PlannedCall, d: _Deltas) -> Timed:
        """A function or custom tool call at ``index`` from ``t``, its arguments (input) at the output
        pace; returns when it ends."""
        kind = "custom_tool_call_input" if call.custom else "function_call_arguments"
        yield (
            t,
            {"type": "response.output_item.added", "output_index": index,
             "item": _call_item(item_id, call, "", "in_progress")},
        )  # fmt: skip
        args = call.arguments
        head = {"item_id": item_id, "output_index": index}
        pieces, t = d.timed(args, t, self.config.latency.token_interval_s())
        for at, piece in pieces:
            yield at, d.event({"type": f"response.{kind}.delta", **head}, piece)
        if call.custom:
            yield t, {"type": "response.custom_tool_call_input.done", **head, "input": args}
        else:
            done = {"type": "response.function_call_arguments.done", **head, "name": call.name}
            yield t, {**done, "arguments": args}
        yield (
            t,
            {"type": "response.output_item.done", "output_index": index,
             "item": _call_item(item_id, call, args, "completed")},
        )  # fmt: skip
        return t


Timed = Generator[tuple[float, dict[str, Any]], None, float]  # timed events, then the time after them


@dataclass
class _Deltas:
    """How one response's texts stream: pieces of ``chunk`` bytes, each delta event padded by the
    response's obfuscator (None: stream_options.include_obfuscation false)."""

    chunk: int
    noise: Obfuscator | None

    def timed(self, text: str, t: float, per_token_s: float) -> tuple[list[tuple[float, str]], float]:
        """(time, piece) for each delta of ``text`` from ``t``, and the time after the last."""
        out = []
        for start in range(0, len(text), self.chunk):
            piece = text[start : start + self.chunk]
            out.append((t, piece))
            t += per_token_s * text_tokens(piece)
        return out, t

    def event(self, fields: dict[str, Any], piece: str) -> dict[str, Any]:
        event = {**fields, "delta": piece}
        if self.noise is not None:
            event["obfuscation"] = self.noise.pad(piece)
        return event


def _message_item(item_id: str, text: str, status: str, parts: bool = True) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if parts else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, call: PlannedCall, arguments: str, status: str) -> dict[str, Any]:
    if call.custom:  # the spec's CustomToolCall has no status
        return {"type": "custom_tool_call", "id": item_id, "call_id": call.call_id, "name": call.name,
                "input": arguments}  # fmt: skip
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.call_id,
        "name": call.name,
        "arguments": arguments,
        "status": status,
    }


class Engine:
    """The mock's model service: scripted replies, latency model, prompt cache, stored responses."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.model = ScriptedModel(config.tasks_dir, config.default_script, config.task_files)
        self.store = ResponseStore(config.store_max_responses)
        self.conversations: ConversationStore[ResponseState] = ConversationStore(config.conversations_max)
        self.prompt_cache = (
            PromptCache(config.prompt_cache_ttl_s, config.prompt_cache_blocks)
            if config.prompt_cache
            else None
        )
        # requests by how they began: "new" (no previous_response_id), "continued", "warmup", "chat"
        self.starts: Counter[str] = Counter()
        # count each request's work (RequestWork) even with no server cost (the calibration reads it)
        self.count_work = config.server_cost.enabled
        self.input_items: Counter[str] = Counter()  # input items received, by type (resent reasoning too)
        self.continuity = Continuity()  # agentload's conversations, turn by turn (behind a gateway)
        self.forks = Forks()  # forked subagents, and what came back to their parents (mock.forks)

    def snapshot(self) -> dict[str, Any]:
        """What the control endpoint reports of the model service."""
        return {
            "requests": dict(self.starts),
            "input_items": dict(self.input_items),
            "conversations": self.conversations.snapshot(),
            "subagents": self.forks.snapshot(),
            "prompt_cache": self.prompt_cache.snapshot() if self.prompt_cache is not None else None,
        }

    def resolve_previous(
        self, req: CreateRequest, cached: ResponseState | None = None
    ) -> ResponseState | None:
        """The state to continue from: the connection's cached response, else a stored one."""
        rid = req.previous_response_id
        if rid is None:
            return None
        if cached is not None and cached.id == rid:
            return cached
        st = self.store.get(rid)
        if st is None:
            raise previous_not_found(rid)
        return st

    def _cached_prefix(self, scope_key: str, cache_key: str | None, parts: list[bytes], tokens: int) -> int:
        """Tokens of a request without server-side context that the prompt cache holds (0 when off)."""
        if self.prompt_cache is None:
            return 0
        return min(tokens, self.prompt_cache.cached_tokens(scope_of(scope_key, cache_key), parts))

    def start(
        self,
        req: CreateRequest,
        prev: ResponseState | None,
        scope_key: str = "",
        *,
        body_bytes: int = 0,
        new_request: bool = False,
        warm: bool = False,
    ) -> Generation:
        """A Responses API request: continuing ``prev`` (the cached or stored response), or new.
        ``scope_key`` is the caller's rate-limit key: prompt caches are per organisation. For the
        server's own work (mock.config.ServerCost): ``body_bytes`` as received, ``new_request`` (a new
        HTTP request), ``warm`` (``prev`` is the connection's own, in memory). A request with
        ``conversation`` continues that conversation's latest response, its input led by the items
        added to it since (an unknown conversation: OpenAI's 404)."""
        conversation = self.conversations.get(req.conversation) if req.conversation is not None else None
        joining = req.items
        consumed = 0
        if conversation is not None:
            prev, consumed = conversation.state, len(conversation.added)
            req = _led_by_added(req, conversation)
        check_tool_outputs(req.items, prev.pending_calls if prev else ())
        self.input_items.update(str(item.get("type")) for item in req.items)
        own = req.input_tokens()
        mark = mark_in(req.instructions, req.items)  # the task named in-band, where a proxy keeps it
        if prev is not None:
            task, seed = prev.task, prev.seed
            turn = prev.turns + count_model_turns(req.items)
            input_tokens, cached = _continued(req, prev)
        else:
            task = mark.task if mark is not None else req.metadata.get(TASK_METADATA_KEY)
            if task is None and conversation is not None:  # (named when the conversation was made)
                task = conversation.metadata.get(TASK_METADATA_KEY)
            # an agentload conversation's own seed: its call ids are its own, so a turn a gateway sent
            # on without its marker is still known by the calls it answers (mock.continuity)
            seed = conversation_seed(req.items, f"{task}:{mark.conversation}" if mark is not None else task)
            turn = turns_in(req.items)
            input_tokens = own
            cached = self._cached_prefix(scope_key, req.prompt_cache_key, req.prompt_parts(), own)
        seen = (prev.context if prev is not None else Context()).declaring(
            bool(req.instructions), bool(req.tools)
        )
        seen = seen.with_items(req.items)
        follows = prev.follows if prev is not None else None
        fork = self.forks.resolve(req.items, req.previous_response_id, req.stream_id)
        if fork is not None:  # a forked subagent's turn: its own script, from its prompt (mock.forks)
            track, task, seed = None, fork.task, fork.seed
            turn = count_model_turns(req.items[fork.at + 1 :])
        else:
            self.forks.joined(req.items)
            track, task, turn, seed = self._follow(
                mark, follows, req.items, seen, req.generate, body_bytes, task, turn, seed
            )
        self.model.task(task)  # an unknown task is refused before anything else, warm-ups too
        self.starts["warmup" if not req.generate else "continued" if prev is not None else "new"] += 1
        pending = (
            () if req.generate else tuple(unanswered_calls(req.items, prev.pending_calls if prev else ()))
        )
        # a continuation that does not resend its tools keeps those its conversation declared
        tools = tuple(req.tools) or (prev.tools if prev is not None else ())
        gen = self._generate(
            req, task, turn, seed, input_tokens, cached, pending, _prefix_tokens(req, prev), tools
        )
        gen.conversation, gen.joining, gen.consumed = conversation, joining, consumed
        gen.state = dataclasses.replace(
            gen.state,
            context=seen.with_calls(c.call_id for c in gen.plan.calls),
            follows=track.mark.conversation if track is not None else None,
        )
        if self.count_work:
            self._price(
                gen,
                RequestWork(
                    new_request=new_request,
                    body_bytes=body_bytes,
                    reasoning_items=sum(
                        1 for i in req.items if i.get("type") == "reasoning" and i.get("encrypted_content")
                    ),
                    store_load=prev is not None and not warm,
                    prompt_tokens=own if warm else input_tokens,
                ),
            )
        self._answered(track, gen)
        self.forks.planned(gen.id, gen.plan.calls)
        return gen

    def _follow(
        self,
        mark: Mark | None,
        follows: str | None,
        history: list[dict[str, Any]],
        seen: Context,
        generate: bool,
        body_bytes: int,
        task: str | None,
        turn: int,
        seed: str,
    ) -> tuple[Track | None, str | None, int, str]:
        """An agentload conversation's request (mock.continuity): its context checked against what the
        conversation should hold; where it was lost, the conversation's own task, turn and seed, so the
        workload stays the one the agent sent. Returns the conversation, the task, the turn, the seed."""
        answers = [  # the call ids it answers, the latest first (the response it continues)
            str(i.get("call_id") if i.get("type") in OUTPUT_TYPES else i.get("tool_call_id"))
            for i in reversed(history)
            if i.get("type") in OUTPUT_TYPES or i.get("role") == "tool"
        ]
        track, answered = self.continuity.attribute(mark, follows, answers, seed)
        if track is None:
            return None, task, turn, seed
        if not generate:
            self.continuity.warmup(track, body_bytes)
            return track, task or track.mark.task, turn, seed
        _, at = self.continuity.turn(track, answered, seen, body_bytes)
        if at is not None:
            return track, track.mark.task, at, track.seed
        return track, task or track.mark.task, turn, seed

    def _answered(self, track: Track | None, gen: Generation) -> None:
        if track is not None and gen.req.generate:
            calls = [c.call_id for c in gen.plan.calls]
            self.continuity.answered(track, gen.state.turns, gen.state.context, calls, gen.first_output_s)

    def _price(self, gen: Generation, work: RequestWork) -> None:
        gen.work = work
        gen.server_s = self.config.server_cost.request_s(work)

    def start_chat(self, chat: ChatRequest, scope_key: str = "", *, body_bytes: int = 0) -> Generation:
        """A Chat Completions request: stateless, so its turn is the assistant messages it carries; its
        prefix may be in the prompt cache. Each is a new HTTP request of ``body_bytes``."""
        first_user = next((m for m in chat.messages if m.get("role") == "user"), {})
        mark = mark_in(None, chat.messages)  # the task named in-band, where a proxy keeps it
        task = mark.task if mark is not None else chat.task
        seed = hashlib.sha1(
            dumps_utf8({"content": first_user.get("content")})
            + (f"{task}:{mark.conversation}" if mark is not None else task or "").encode()
        ).hexdigest()[:16]
        compacted = last_compaction(chat.messages)  # (core.compaction: the turns its summary replaced)
        after = chat.messages[compacted[1] + 1 :] if compacted is not None else chat.messages
        turn = (compacted[0].turns if compacted is not None else 0) + sum(
            1 for m in after if m.get("role") == "assistant"
        )
        seen = Context(tools=bool(chat.tools)).with_items(chat.messages)
        fork = self.forks.resolve(chat.messages, None, None)
        if fork is not None:  # a forked subagent's turn: its own script, from its prompt (mock.forks)
            track, task, seed = None, fork.task, fork.seed
            turn = sum(1 for m in chat.messages[fork.at + 1 :] if m.get("role") == "assistant")
        else:
            self.forks.joined(chat.messages)
            track, task, turn, seed = self._follow(
                mark, None, chat.messages, seen, True, body_bytes, task, turn, seed
            )
        req = CreateRequest(
            model=chat.model, items=[], instructions=None, tools=chat.responses_tools(), store=False,
            stream=chat.stream, previous_response_id=None, metadata={}, max_output_tokens=chat.max_tokens,
            reasoning_effort=chat.reasoning_effort, parallel_tool_calls=chat.parallel_tool_calls,
            obfuscation=chat.obfuscation, prompt_cache_key=chat.prompt_cache_key, text_format=chat.text_format,
        )  # fmt: skip
        cached = self._cached_prefix(
            scope_key, chat.prompt_cache_key, chat.prompt_parts(), chat.prompt_tokens
        )
        gen = self._generate(req, task, turn, seed, chat.prompt_tokens, cached, ())
        gen.state = dataclasses.replace(gen.state, context=seen.with_calls(c.call_id for c in gen.plan.calls))
        if self.count_work:
            work = RequestWork(new_request=True, body_bytes=body_bytes, prompt_tokens=chat.prompt_tokens)
            self._price(gen, work)
        self._answered(track, gen)
        self.forks.planned(gen.id, gen.plan.calls)
        return gen

    def _generate(
        self,
        req: CreateRequest,
        task: str | None,
        turn: int,
        seed: str,
        input_tokens: int,
        cached: int,
        pending_without_output: tuple[str, ...],
        prefix_tokens: int = 0,
        tools: tuple[dict[str, Any], ...] | None = None,
    ) -> Generation:
        rid = new_id("resp")
        info = model_info(req.model)
        tools = tuple(req.tools) if tools is None else tools
        if req.generate:
            plan = self.model.plan(task, turn, seed, tools, req.parallel_tool_calls is not False)
        else:
            plan = Plan()
        if plan.message is not None and not plan.calls and req.text_format is not None:  # structured output
            answer = structured_answer(req.text_format, plan.message, random.Random(f"{seed}:{turn}"))
            plan = dataclasses.replace(plan, message=answer)
        reasoning = 0
        if req.generate and info.reasons and req.reasoning_effort != "none":
            reasoning = (
                plan.reasoning_tokens
                if plan.reasoning_tokens is not None
                else info.reasoning_tokens(req.reasoning_effort)
            )
        summary = ""
        if reasoning and req.reasoning_summary is not None:
            size = max(1, int(reasoning * SUMMARY_TOKENS_PER_REASONING_TOKEN)) * BYTES_PER_TOKEN
            summary = "**Planning the change**\n\n" + synth_text("text", size, f"{seed}:{turn}")
        out_bytes = sum(len(c.arguments.encode()) for c in plan.calls) + len((plan.message or "").encode())
        visible = estimate_tokens(out_bytes)  # the summary is an account of the reasoning, counted in it
        output_tokens = visible + reasoning
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens,
        }
        pending = tuple(c.call_id for c in plan.calls) if req.generate else pending_without_output
        state = ResponseState(
            id=rid,
            task=task,
            seed=seed,
            turns=turn + (1 if req.generate else 0),
            context_tokens=input_tokens + visible,
            pending_calls=pending,
            prefix_tokens=prefix_tokens,
            tools=tools,
        )
        return Generation(
            req=req,
            id=rid,
            created_at=int(time.time()),
            plan=plan,
            usage=usage,
            ttft_s=self.config.latency.ttft_s(input_tokens - cached, cached),
            state=state,
            config=self.config,
            reasoning_tokens=reasoning,
            effort=(req.reasoning_effort or info.default_effort) if info.reasons else req.reasoning_effort,
            summary_text=summary,
        )

    def delete_item(self, conversation_id: str, item_id: str) -> StoredConversation[ResponseState]:
        """An item leaves a conversation, and the context its next response continues from."""
        conv = self.conversations.get(conversation_id)
        size = conv.delete_item(item_id)
        if conv.state is not None:
            tokens = max(0, conv.state.context_tokens - estimate_tokens(size))
            conv.state = dataclasses.replace(conv.state, context_tokens=tokens)
        return conv

    def finish(self, gen: Generation) -> ResponseState:
        """Called once the response completed: store it when asked to, return the state to cache."""
        state = gen.state
        if gen.req.store:
            state = ResponseState(**{**state.__dict__, "response": gen.final_response()})
            self.store.put(state)
        conv = gen.conversation
        if conv is not None:  # its input and output items join the conversation, which goes on from it
            conv.add(gen.joining, waiting=False)
            conv.add(gen.output_items(), waiting=False)
            conv.added = conv.added[gen.consumed :]
            conv.state = state
            self.conversations.counts["responses"] += 1
        return state


def _led_by_added(req: CreateRequest, conv: StoredConversation[ResponseState]) -> CreateRequest:
    """The request as the model sees it in ``conv``: the items added to the conversation since its
    latest response come first in its input."""
    if not conv.added:
        return req
    lead = [item for _, item in conv.added]
    parts = [dumps_utf8(i) for i in lead] + (req.item_parts or [dumps_utf8(i) for i in req.items])
    sizes = {**req.raw_sizes, "input": sum(map(len, parts)) + len(parts) + 1}
    return dataclasses.replace(req, items=lead + req.items, item_parts=parts, raw_sizes=sizes)


def _prefix_tokens(req: CreateRequest, prev: ResponseState | None) -> int:
    """The instructions and tools a conversation's prompt now holds: this request's where it sends them
    (or where it begins the conversation), else those it continued with."""
    sent = req.raw_sizes.get("instructions", 0) + req.raw_sizes.get("tools", 0)
    if prev is not None and not sent:
        return prev.prefix_tokens
    return estimate_tokens(sent) if sent else 0


def _continued(req: CreateRequest, prev: ResponseState) -> tuple[int, int]:
    """(input, cached) tokens of a request continuing ``prev``. Instructions and tools are per request:
    a client that resends them (Codex sends its tools on every continuation) replaces those the
    conversation held, not adds to them, and where they are the same the whole earlier prompt is a
    cached prefix (tools come first in it); changed ones start the prompt anew."""
    items = estimate_tokens(req.raw_sizes.get("input", 0))
    sent = req.raw_sizes.get("instructions", 0) + req.raw_sizes.get("tools", 0)
    if not sent:
        return items + prev.context_tokens, reported(prev.context_tokens)
    prefix = estimate_tokens(sent)
    context = prev.context_tokens - prev.prefix_tokens + prefix
    cached = prev.context_tokens if prefix == prev.prefix_tokens else 0
    return items + context, reported(cached)


def visible_tokens(gen: Generation) -> int:
    """Output tokens after the reasoning (what streams at the output pace once thinking is done)."""
    return int(gen.usage["output_tokens"]) - gen.reasoning_tokens


def turns_in(items: list[dict[str, Any]]) -> int:
    """The model turns a new request's input stands for: those in it, and where an agent compacted its
    history, the turns its summary replaced (core.compaction) before those after it."""
    compacted = last_compaction(items)
    if compacted is None:
        return count_model_turns(items)
    mark, at = compacted
    return mark.turns + count_model_turns(items[at + 1 :])


def conversation_seed(items: list[dict[str, Any]], task: str | None) -> str:
    """What identifies a conversation from its first request on: the items before the model's first
    turn (a stateless resend starts with the same ones), and the task it names."""
    h = hashlib.sha1((task or "").encode())
    for item in items:
        if is_model_item(item):
            break
        h.update(dumps_utf8(item))
    return h.hexdigest()[:16]
