"""Conversations (OpenAI's Conversations API): the server-side state a response may continue and join.

A conversation holds its items as the API lists them, each with an id (and a status where the spec's
item has one), kept as compact JSON: a conversation is the one place the mock keeps a history's items
(a response chain keeps only its counts, mock.engine), because the API lists them back. Beside its items
it holds the state of its latest response (mock.engine.ResponseState), from which a response with
``conversation`` continues as one with ``previous_response_id`` does; items added outside a response
(at its creation, ``POST .../items``) wait in ``added`` and join the next response's input, as OpenAI
prepends a conversation's items to a response's input. Bounded: the least recently used conversation
goes first beyond ``max_conversations``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..core.jsoncodec import dumps_utf8
from ..core.protocol import ENCRYPTED_REASONING
from .errors import conversation_not_found, item_not_found

S = TypeVar("S")  # what a response continues from (mock.engine.ResponseState), opaque here

# an item's id prefix by its type, as OpenAI's look (msg_, fc_, rs_, ...); others get item_
ID_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
    "reasoning": "rs",
}
# items whose listed form (the spec's *Resource and Message schemas) carries a status
WITH_STATUS = frozenset({"message", "function_call", "function_call_output"})


def listed_form(item: dict[str, Any]) -> dict[str, Any]:
    """An input item as a conversation lists it: an id where it has none, a status where the spec's
    listed item has one, a message's string content as a content part."""
    t = str(item.get("type", "message"))
    out = {"type": t, **item}
    if not out.get("id"):
        out["id"] = f"{ID_PREFIXES.get(t, 'item')}_{secrets.token_hex(24)}"
    if t in WITH_STATUS and "status" not in out:
        out["status"] = "completed"
    if t == "message":
        assistant = out.get("role") == "assistant"
        content = out.get("content")
        parts = (
            [{"type": "output_text" if assistant else "input_text", "text": content}]
            if isinstance(content, str)
            else list(content or [])
        )
        out["content"] = [
            {"annotations": [], "logprobs": [], **p} if p.get("type") == "output_text" else p for p in parts
        ]
    return out


@dataclass
class StoredConversation(Generic[S]):
    id: str
    created_at: int
    metadata: dict[str, str]
    items: OrderedDict[str, bytes] = field(default_factory=OrderedDict)  # id -> the listed item's JSON
    added: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (id, as received): not yet seen
    state: S | None = None  # its latest response's, to continue from

    def resource(self) -> dict[str, Any]:
        """The ConversationResource object."""
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }

    def add(self, items: list[dict[str, Any]], waiting: bool) -> list[str]:
        """Items join the conversation; ``waiting``: added outside a response, so the next response's
        input begins with them. Returns their ids."""
        ids = []
        for item in items:
            listed = listed_form(item)
            self.items[listed["id"]] = dumps_utf8(listed)
            ids.append(listed["id"])
            if waiting:
                self.added.append((listed["id"], item))
        return ids

    def item(self, item_id: str, include: tuple[str, ...] = ()) -> dict[str, Any]:
        raw = self.items.get(item_id)
        if raw is None:
            raise item_not_found(item_id)
        return _shown(json.loads(raw), include)

    def delete_item(self, item_id: str) -> int:
        """The item leaves the conversation; returns its size in bytes (the context it held)."""
        raw = self.items.pop(item_id, None)
        if raw is None:
            raise item_not_found(item_id)
        self.added = [(i, item) for i, item in self.added if i != item_id]
        return len(raw)

    def page(
        self, limit: int, descending: bool, after: str | None, include: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The ConversationItemList of up to ``limit`` items after ``after`` (an item id), in order. An
        empty page's first_id and last_id are null, as OpenAI's empty lists have them (the spec says
        string)."""
        ids = list(reversed(self.items)) if descending else list(self.items)
        start = 0
        if after is not None:
            if after not in self.items:
                raise item_not_found(after)
            start = ids.index(after) + 1
        chosen = ids[start : start + limit]
        data = [_shown(json.loads(self.items[i]), include) for i in chosen]
        return item_list(data, has_more=start + limit < len(ids))


def item_list(data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def _shown(item: dict[str, Any], include: tuple[str, ...]) -> dict[str, Any]:
    """A reasoning item's encrypted content is listed only when ``include`` asks for it."""
    if item.get("type") == "reasoning" and ENCRYPTED_REASONING not in include:
        item.pop("encrypted_content", None)
    return item


class ConversationStore(Generic[S]):
    """The conversations, by id; least recently used out first beyond ``max_conversations``."""

    def __init__(self, max_conversations: int) -> None:
        self.max = max_conversations
        self._d: OrderedDict[str, StoredConversation[S]] = OrderedDict()
        self.counts: Counter[str] = Counter()  # created, deleted, responses (that joined one), evicted

    def create(self, metadata: dict[str, str], items: list[dict[str, Any]]) -> StoredConversation[S]:
        conv: StoredConversation[S] = StoredConversation(
            f"conv_{secrets.token_hex(24)}", int(time.time()), metadata
        )
        conv.add(items, waiting=True)
        self._d[conv.id] = conv
        self.counts["created"] += 1
        while len(self._d) > self.max:
            self._d.popitem(last=False)
            self.counts["evicted"] += 1
        return conv

    def get(self, conversation_id: str) -> StoredConversation[S]:
        """The conversation, or the 404 OpenAI answers for an unknown one."""
        conv = self._d.get(conversation_id)
        if conv is None:
            raise conversation_not_found(conversation_id)
        self._d.move_to_end(conversation_id)
        return conv

    def delete(self, conversation_id: str) -> None:
        self.get(conversation_id)
        del self._d[conversation_id]
        self.counts["deleted"] += 1

    def snapshot(self) -> dict[str, int]:
        return {
            **{k: self.counts[k] for k in ("created", "deleted", "responses", "evicted")},
            "live": len(self._d),
        }
