"""Locust users, one thin class per continuation strategy (see DESIGN.md)."""

from .chat import ChatAgent
from .http_chained import HttpChainedAgent
from .http_stateless import HttpStatelessAgent
from .ws import WsAgent
from .ws_stored import WsStoredAgent

__all__ = ["ChatAgent", "HttpChainedAgent", "HttpStatelessAgent", "WsAgent", "WsStoredAgent"]
