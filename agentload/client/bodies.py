"""Request bodies, per API: what one turn of a conversation sends.

A full request carries the instructions, the tools and the whole history; a continuation carries
``previous_response_id`` and only the new items (the server holds the rest), or, in a Conversation,
its id and only the new items (every turn names it, the first too). Chat Completions has no
continuation: every turn is the whole message history.
"""

from __future__ import annotations

from typing import Any

from ..core.marker import Mark
from ..core.protocol import ENCRYPTED_REASONING, TASK_HEADER, TASK_METADATA_KEY
from ..workload.profile import CacheKeyOn, InstructionsAs
from .conversation import Conversation
from .settings import AgentSettings


def responses_body(
    conv: Conversation, settings: AgentSettings, full: bool, warmup: bool = False
) -> dict[str, Any]:
    """A Responses API create body (HTTP POST and WebSocket ``response.create`` alike), in the
    conversation's client profile's shape. ``warmup``: the whole-context request that carries only
    the warm-up's items."""
    task, p = conv.task, conv.profile
    body: dict[str, Any] = {"model": settings.model}
    reasoning = {}
    if settings.reasoning_effort:
        reasoning["effort"] = settings.reasoning_effort
    if p.reasoning_summary is not None:
        reasoning["summary"] = p.reasoning_summary
    if reasoning:
        body["reasoning"] = reasoning
    if full or p.resend_tools or settings.resend_instructions:
        if p.instructions == InstructionsAs.FIELD:
            body["instructions"] = mark(conv, settings).on(task.instructions)
        body["tools"] = list(task.tools)
    if full:
        body["input"] = conv.items[: conv.warmup_count] if warmup else conv.items
        if p.instructions == InstructionsAs.DEVELOPER_MESSAGE:  # the first item is the system prompt
            body["input"] = marked(body["input"], mark(conv, settings))
    elif settings.strategy.conversation:
        body["input"] = conv.new_items
    else:
        body["previous_response_id"] = conv.previous_response_id
        body["input"] = conv.new_items
    if settings.strategy.conversation and conv.conversation_id is not None:
        body["conversation"] = conv.conversation_id  # (none: a client profile that never continues)
    body.update(p.extra)
    body["store"] = settings.strategy.store
    # a store=false client asks for its reasoning encrypted, to resend it on stateless turns
    include = (
        p.include if p.include is not None else () if settings.strategy.store else (ENCRYPTED_REASONING,)
    )
    if include:
        body["include"] = list(include)
    if full:
        body["metadata"] = {TASK_METADATA_KEY: task.name}
    if p.prompt_cache_key == CacheKeyOn.EVERY or (full and p.prompt_cache_key == CacheKeyOn.FIRST):
        body["prompt_cache_key"] = conv.cache_key
    if conv.client_metadata:
        body["client_metadata"] = conv.client_metadata
    return body


def mark(conv: Conversation, settings: AgentSettings) -> Mark:
    """The conversation's in-band marker (core.marker): its task, its id, the agent's strategy."""
    return Mark(conv.task.name, conv.cache_key, settings.strategy.name)


def marked(history: list[dict[str, Any]], m: Mark) -> list[dict[str, Any]]:
    """``history`` (input items or chat messages) with the marker on its leading system prompt (a
    developer or system message), copied; unchanged when it has none."""
    if not history or history[0].get("role") not in ("developer", "system"):
        return history
    head = dict(history[0])
    content = head.get("content")
    if isinstance(content, str):
        head["content"] = m.on(content)
    elif isinstance(content, list) and content and isinstance(content[-1], dict):
        head["content"] = [*content[:-1], {**content[-1], "text": m.on(str(content[-1].get("text", "")))}]
    return [head, *history[1:]]


def chat_tools(conv: Conversation) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]},
        }
        for t in conv.task.function_tools
    ]


def chat_body(conv: Conversation, settings: AgentSettings) -> tuple[dict[str, Any], dict[str, str]]:
    """A Chat Completions body and the header that names the task for the mock's scripted model."""
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": marked(conv.messages, mark(conv, settings)),
        "tools": chat_tools(conv),
        "stream": True,
        "stream_options": {"include_usage": True},
        "prompt_cache_key": conv.cache_key,
    }
    if settings.reasoning_effort:
        body["reasoning_effort"] = settings.reasoning_effort
    body.update(conv.profile.chat_extra)  # (chat's own: a Responses field here is a 400 at OpenAI)
    return body, {TASK_HEADER: conv.task.name}
