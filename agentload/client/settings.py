"""What one agent runs with: its strategy, model, tool timing, timeouts and failure policies (values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..core.strategies import Strategy
from ..workload import TextCache
from ..workload.profile import ClientProfile


class On429(StrEnum):
    """What an agent does when the API answers 429 (rate limited)."""

    HONOR = "honor"  # wait at least what the server asks (retry-after-ms, retry-after, the reset header)
    RETRY = "retry"  # its own exponential backoff with full jitter
    FAIL = "fail"  # the task fails


@dataclass(frozen=True)
class Timeouts:
    """How long a turn may wait, by phase.

    connect: TCP connect, TLS and the WebSocket upgrade. first_token: from sending the request to the
    first output delta, in all (the model may think in silence that long). idle: silence between two
    reads once output flows (a stalled stream)."""

    connect_s: float
    first_token_s: float
    idle_s: float


@dataclass(frozen=True)
class AgentSettings:
    strategy: Strategy
    model: str
    reasoning_effort: str | None = None  # reasoning.effort to ask for; None: the model's default
    tool_latency_scale: float = 1.0
    tool_latency_jitter: float = 0.0  # each tool latency drawn within +-this fraction of the task's
    time_scale: float = 1.0  # the human's pauses and idle_close_s, x this (a compressed long session)
    idle_close_s: float = 0.0  # a WebSocket closed after this long into a pause (0: held open through it)
    resend_instructions: bool = False  # also resend instructions and tools on chained turns
    on_429: On429 = On429.HONOR
    max_429_retries: int = 20  # per turn; then the task fails as rate_limited
    max_retries: int = 2  # per turn, after transient failures (records.TRANSIENT); then the task fails
    outputs: TextCache | None = field(default=None, compare=False)  # rendered tool outputs, per process
    profile: ClientProfile | None = None  # the request shape; None: each task's own, else minimal
    link: str = ""  # the link the agent's connections are behind (--link's text), for its records
