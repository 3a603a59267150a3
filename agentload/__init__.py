"""agentload: a distributed load generator for AI coding agents, on Locust.

In a locustfile, ``from agentload import WsAgent, HttpStatelessAgent`` (or ``*``) gives agentload's
Locust users, one class per continuation strategy, and installs agentload's options and listeners;
they run beside the locustfile's own users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.version import __version__ as __version__

__all__ = [
    "AgentUser",
    "ChatAgent",
    "HttpChainedAgent",
    "HttpConversationAgent",
    "HttpStatelessAgent",
    "WsAgent",
    "WsMuxAgent",
    "WsStoredAgent",
]

if TYPE_CHECKING:
    from .runtime.users import (
        AgentUser,
        ChatAgent,
        HttpChainedAgent,
        HttpConversationAgent,
        HttpStatelessAgent,
        WsAgent,
        WsMuxAgent,
        WsStoredAgent,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        # imported on first use: importing Locust patches the process for gevent, which the mock, the
        # recorder and the other commands (all under this package) must not get
        from .runtime import users

        return getattr(users, name)
    raise AttributeError(f"module 'agentload' has no attribute {name!r}")
