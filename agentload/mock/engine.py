"""Turns a validated create request into a Response and its timed stream of events.

Shared by the HTTP (SSE and JSON) and WebSocket front ends, so both transports produce the same
objects. The conversation state kept between turns is small (turn count, token count, pending call
ids), never the items themselves: a long run against the mock holds memory per *response*, not per
token of history.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.jsoncodec import dumps_utf8
from ..core.protocol import TASK_METADATA_KEY
from ..core.tokens import BYTES_PER_TOKEN, estimate_tokens, text_tokens
from .config import MockConfig
from .errors import previous_not_found
from .model import Plan, ScriptedModel
from .requests import ChatRequest, CreateRequest, check_tool_outputs, count_model_turns, unanswered_calls

TERMINAL_EVENTS = ("response.completed", "response.failed", "response.incomplete")


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
    """One response being produced: its object, its usage, and its events with their time offsets."""

    req: CreateRequest
    id: str
    created_at: int
    plan: Plan
    usage: dict[str, Any]
    ttft_s: float
    state: ResponseState
    config: MockConfig

    def reserved_tokens(self) -> int:
        """What OpenAI reserves against TPM at request start: input plus the estimated output."""
        out = (
            self.req.max_output_tokens
            if self.req.max_output_tokens is not None
            else self.usage["output_tokens"]
        )
        return int(self.usage["input_tokens"]) + int(out)

    def response_object(self, status: str, output: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
        r = self.req
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": r.instructions,
            "max_output_tokens": r.max_output_tokens,
            "max_tool_calls": None,
            "model": r.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": r.previous_response_id,
            "prompt_cache_key": None,
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": None,
            "service_tier": "default",
            "store": r.store,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": r.tools,
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": self.usage if with_usage else None,
            "user": None,
            "metadata": r.metadata,
        }

    def output_items(self) -> list[dict[str, Any]]:
        if self.plan.message is not None:
            return [_message_item(self._item_id("msg", 0), self.plan.message, "completed")]
        return [
            _call_item(self._item_id("fc", i), c.call_id, c.name, c.arguments, "completed")
            for i, c in enumerate(self.plan.calls)
        ]

    def final_response(self) -> dict[str, Any]:
        return self.response_object("completed", self.output_items(), True)

    def _item_id(self, prefix: str, index: int) -> str:
        return f"{prefix}_{self.id[5:37]}{index:04d}"

    def events(self) -> Iterator[tuple[float, dict[str, Any]]]:
        """(seconds after the request was read, event without sequence_number), in order."""
        yield 0.0, {"type": "response.created", "response": self.response_object("in_progress", [], False)}
        yield (
            0.0,
            {"type": "response.in_progress", "response": self.response_object("in_progress", [], False)},
        )
        t = self.ttft_s
        step = self.config.latency.token_interval_s()
        chunk = max(1, self.config.chunk_tokens) * BYTES_PER_TOKEN
        if self.plan.message is not None:
            item_id = self._item_id("msg", 0)
            text = self.plan.message
            yield (
                t,
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": _message_item(item_id, "", "in_progress", parts=False),
                },
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield (
                t,
                {
                    "type": "response.content_part.added",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": part,
                },
            )
            for start in range(0, len(text), chunk):
                piece = text[start : start + chunk]
                yield (
                    t,
                    {
                        "type": "response.output_text.delta",
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    },
                )
                t += step * text_tokens(piece)
            yield (
                t,
                {
                    "type": "response.output_text.done",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "text": text,
                    "logprobs": [],
                },
            )
            yield (
                t,
                {
                    "type": "response.content_part.done",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": {**part, "text": text},
                },
            )
            yield (
                t,
                {
                    "type": "response.output_item.done",
                    "output_index": 0,
                    "item": _message_item(item_id, text, "completed"),
                },
            )
        for i, call in enumerate(self.plan.calls):
            item_id = self._item_id("fc", i)
            yield (
                t,
                {
                    "type": "response.output_item.added",
                    "output_index": i,
                    "item": _call_item(item_id, call.call_id, call.name, "", "in_progress"),
                },
            )
            args = call.arguments
            for start in range(0, len(args), chunk):
                piece = args[start : start + chunk]
                yield (
                    t,
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item_id,
                        "output_index": i,
                        "delta": piece,
                    },
                )
                t += step * text_tokens(piece)
            yield (
                t,
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item_id,
                    "output_index": i,
                    "arguments": args,
                },
            )
            yield (
                t,
                {
                    "type": "response.output_item.done",
                    "output_index": i,
                    "item": _call_item(item_id, call.call_id, call.name, args, "completed"),
                },
            )
        yield t, {"type": "response.completed", "response": self.final_response()}


def _message_item(item_id: str, text: str, status: str, parts: bool = True) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if parts else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


class Engine:
    """The mock's model service: scripted replies, latency model, stored responses."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.model = ScriptedModel(config.tasks_dir, config.default_script)
        self.store = ResponseStore(config.store_max_responses)

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

    def start(self, req: CreateRequest, prev: ResponseState | None) -> Generation:
        """A Responses API request: continuing ``prev`` (the cached or stored response), or new."""
        check_tool_outputs(req.items, prev.pending_calls if prev else ())
        if prev is not None:
            task, seed = prev.task, prev.seed
            turn = prev.turns + count_model_turns(req.items)
            cached = prev.context_tokens
        else:
            task = req.metadata.get(TASK_METADATA_KEY)
            first = req.items[0] if req.items else {}
            seed = hashlib.sha1(dumps_utf8(first) + (task or "").encode()).hexdigest()[:16]
            turn = count_model_turns(req.items)
            cached = 0
        pending = (
            () if req.generate else tuple(unanswered_calls(req.items, prev.pending_calls if prev else ()))
        )
        return self._generate(req, task, turn, seed, req.input_tokens(), cached, pending)

    def start_chat(self, chat: ChatRequest) -> Generation:
        """A Chat Completions request: stateless, so its turn is the assistant messages it carries and
        none of its input is cached."""
        first_user = next((m for m in chat.messages if m.get("role") == "user"), {})
        seed = hashlib.sha1(
            dumps_utf8({"content": first_user.get("content")}) + (chat.task or "").encode()
        ).hexdigest()[:16]
        turn = sum(1 for m in chat.messages if m.get("role") == "assistant")
        req = CreateRequest(
            model=chat.model, items=[], instructions=None, tools=[], store=False, stream=chat.stream,
            previous_response_id=None, metadata={}, max_output_tokens=chat.max_tokens,
        )  # fmt: skip
        return self._generate(req, chat.task, turn, seed, chat.prompt_tokens, 0, ())

    def _generate(
        self,
        req: CreateRequest,
        task: str | None,
        turn: int,
        seed: str,
        own_tokens: int,
        cached: int,
        pending_without_output: tuple[str, ...],
    ) -> Generation:
        rid = new_id("resp")
        plan = self.model.plan(task, turn, seed) if req.generate else Plan()
        out_bytes = sum(len(c.arguments.encode()) for c in plan.calls) + len((plan.message or "").encode())
        output_tokens = estimate_tokens(out_bytes)
        input_tokens = own_tokens + cached
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        pending = tuple(c.call_id for c in plan.calls) if req.generate else pending_without_output
        state = ResponseState(
            id=rid,
            task=task,
            seed=seed,
            turns=turn + (1 if req.generate else 0),
            context_tokens=input_tokens + output_tokens,
            pending_calls=pending,
        )
        return Generation(
            req=req,
            id=rid,
            created_at=int(time.time()),
            plan=plan,
            usage=usage,
            ttft_s=self.config.latency.ttft_s(own_tokens, cached),
            state=state,
            config=self.config,
        )

    def finish(self, gen: Generation) -> ResponseState:
        """Called once the response completed: store it when asked to, return the state to cache."""
        state = gen.state
        if gen.req.store:
            state = ResponseState(**{**state.__dict__, "response": gen.final_response()})
            self.store.put(state)
        return state
