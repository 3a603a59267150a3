"""Request bodies, per API: what one turn of a conversation sends.

A full request carries the instructions, the tools and the whole history; a continuation carries
``previous_response_id`` and only the new items (the server holds the rest). Chat Completions has no
continuation: every turn is the whole message history.
"""

from __future__ import annotations

from typing import Any

from ..core.protocol import ENCRYPTED_REASONING, TASK_HEADER, TASK_METADATA_KEY
from .conversation import Conversation
from .settings import AgentSettings


def responses_body(conv: Conversation, settings: AgentSettings, full: bool) -> dict[str, Any]:
    """A Responses API create body (HTTP POST and WebSocket ``response.create`` alike)."""
    task = conv.task
    body: dict[str, Any] = {"model": settings.model}
    if settings.reasoning_effort:
        body["reasoning"] = {"effort": settings.reasoning_effort}
    if full or settings.resend_instructions:
        body["instructions"] = task.instructions
        body["tools"] = list(task.tools)
    if full:
        body["input"] = conv.items
    else:
        body["previous_response_id"] = conv.previous_response_id
        body["input"] = conv.new_items
    body["store"] = settings.strategy.store
    if not settings.strategy.store:
        # a store=false client asks for its reasoning encrypted, to resend it on stateless turns
        body["include"] = [ENCRYPTED_REASONING]
    if full:
        body["metadata"] = {TASK_METADATA_KEY: task.name}
        body["prompt_cache_key"] = conv.cache_key
    return body


def chat_tools(conv: Conversation) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]},
        }
        for t in conv.task.tools
    ]


def chat_body(conv: Conversation, settings: AgentSettings) -> tuple[dict[str, Any], dict[str, str]]:
    """A Chat Completions body and the header that names the task for the mock's scripted model."""
    body = {
        "model": settings.model,
        "messages": conv.messages,
        "tools": chat_tools(conv),
        "stream": True,
        "stream_options": {"include_usage": True},
        "prompt_cache_key": conv.cache_key,
    }
    if settings.reasoning_effort:
        body["reasoning_effort"] = settings.reasoning_effort
    return body, {TASK_HEADER: conv.task.name}
