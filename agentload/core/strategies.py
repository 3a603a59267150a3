"""The continuation strategies: the one registry every part derives from.

A strategy says how each turn of a conversation reaches the model and what it resends: which API
(Responses or Chat Completions), over which connection (HTTP or a WebSocket), whether responses are
stored, and whether turns continue instead of resending the history: by ``previous_response_id``
(chained), or in a server-side Conversation (the Conversations API: the agent makes one at a task's
start and each turn names it with only its new items). Subagents run on connections of their own,
except on a multiplexed strategy (``mux``), where they share their agent's WebSocket, a lane each. The Locust user classes, the sweep's list, the
report's colours and the comparison's baseline are all read from here; a new strategy is one entry
below and its user class written out in runtime/users.py (check_registry holds the two together).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Api(StrEnum):
    """The OpenAI API a strategy speaks."""

    RESPONSES = "responses"  # POST /v1/responses, or its WebSocket mode (GET /v1/responses upgraded)
    CHAT = "chat"  # POST /v1/chat/completions


@dataclass(frozen=True)
class Strategy:
    name: str
    api: Api
    websocket: bool  # one WebSocket per agent (Responses WebSocket mode), else HTTP keep-alive
    store: bool  # store=true: the server keeps each response (a reconnect continues from it)
    chained: bool  # continues by previous_response_id instead of resending the history
    user_class: str  # the Locust user class name (what --class-picker and /swarm select by)
    colour: str  # the report's colour for it
    summary: str  # what each turn sends, for help texts and docs/strategies-and-metrics.md's table
    conversation: bool = False  # continues in a Conversation (its id on each turn) made at the task's start
    mux: bool = False  # an agent and its subagents share one WebSocket, one stream_id lane each

    @property
    def continues(self) -> bool:
        """Turns after a task's first send only their new items: the server holds the rest."""
        return self.chained or self.conversation


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "http-stateless", Api.RESPONSES, websocket=False, store=False, chained=False,
        user_class="HttpStatelessAgent", colour="#d62728",
        summary="POST /v1/responses, store=false: instructions + tools + the whole history",
    ),
    Strategy(
        "http-chained", Api.RESPONSES, websocket=False, store=True, chained=True,
        user_class="HttpChainedAgent", colour="#ff7f0e",
        summary="POST /v1/responses, store=true: previous_response_id + new tool outputs",
    ),
    Strategy(
        "http-conversation", Api.RESPONSES, websocket=False, store=True, chained=False,
        user_class="HttpConversationAgent", colour="#2ca02c",
        summary="POST /v1/conversations at the task's start, then POST /v1/responses, store=true: "
        "conversation + new tool outputs",
        conversation=True,
    ),
    Strategy(
        "ws", Api.RESPONSES, websocket=True, store=False, chained=True,
        user_class="WsAgent", colour="#1f77b4",
        summary="WebSocket /v1/responses, store=false: previous_response_id + new tool outputs",
    ),
    Strategy(
        "ws-stored", Api.RESPONSES, websocket=True, store=True, chained=True,
        user_class="WsStoredAgent", colour="#17becf",
        summary="WebSocket, store=true: the same; a reconnect continues from the store",
    ),
    Strategy(
        "ws-mux", Api.RESPONSES, websocket=True, store=False, chained=True,
        user_class="WsMuxAgent", colour="#8c564b",
        summary="one WebSocket for an agent and its subagents, store=false: a stream_id lane each, "
        "previous_response_id + new tool outputs (a fork continues from another lane's response)",
        mux=True,
    ),
    Strategy(
        "chat", Api.CHAT, websocket=False, store=False, chained=False,
        user_class="ChatAgent", colour="#9467bd",
        summary="POST /v1/chat/completions: the whole message history",
    ),
)  # fmt: skip
BY_NAME: dict[str, Strategy] = {s.name: s for s in STRATEGIES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
BASELINE = "http-stateless"  # what the comparison's reductions and speed-ups are against


def order(name: str) -> int:
    """A strategy's place in tables and charts (registry order; unknown names last)."""
    return NAMES.index(name) if name in BY_NAME else len(NAMES)
