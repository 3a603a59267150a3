"""The load client: the agent loop, its transports (one connection per agent, exact byte counts), the
stream consumers and the wire beneath them. Locust-free: agentload.runtime runs it inside Locust."""

from .agent import Agent, OnTask, OnTurn, describe_outcome
from .conversation import Conversation
from .settings import AgentSettings, On429, Timeouts
from .stream import TurnOutcome
from .transports import (
    ChatHttp,
    MuxLane,
    ResponsesHttp,
    ResponsesWebSocket,
    Transport,
    TransportConfig,
    api_base,
    make_transport,
    spawner,
)

__all__ = [
    "Agent",
    "AgentSettings",
    "ChatHttp",
    "MuxLane",
    "Conversation",
    "On429",
    "OnTask",
    "OnTurn",
    "ResponsesHttp",
    "ResponsesWebSocket",
    "Timeouts",
    "Transport",
    "TransportConfig",
    "TurnOutcome",
    "api_base",
    "describe_outcome",
    "make_transport",
    "spawner",
]
