"""What agentload measures: one TurnRecord per model turn, one TaskRecord per coding task.

These records are the single source of every figure agentload reports: Locust's stats, the JSONL
records file, the end-of-run table, InfluxDB points and sweep reports are all computed from them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import IO, Any, TypeVar

R = TypeVar("R", "TurnRecord", "TaskRecord")


class ErrorKind(StrEnum):
    """Failure classes: one place for their names (stats, records and InfluxDB tags use them)."""

    RATE_LIMITED = "rate_limited"  # HTTP 429 or a socket error with status 429
    AUTH = "auth"  # 401/403
    BAD_REQUEST = "bad_request"  # other 4xx
    NOT_FOUND = "not_found"  # 404, 405, 501: no such endpoint (or model) at this host
    UPGRADE_REFUSED = "upgrade_refused"  # the WebSocket upgrade: no answer, or an answer other than 101
    PREVIOUS_NOT_FOUND = "previous_response_not_found"
    CONNECTION_LIMIT = "websocket_connection_limit_reached"
    SERVER = "server_error"  # 5xx
    CONNECTION = "connection"  # refused, reset, closed mid-stream
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"  # malformed or truncated stream, no terminal event
    RESPONSE_FAILED = "response_failed"  # response.failed / response.incomplete
    QUOTA = "insufficient_quota"  # 429 that no wait fixes: billing, not rate
    INTERRUPTED = "interrupted"  # the run stopped mid-turn (not the server's failure)


# failures another attempt of the same turn may get past (--max-retries)
TRANSIENT = frozenset(
    {
        ErrorKind.SERVER,
        ErrorKind.CONNECTION,
        ErrorKind.TIMEOUT,
        ErrorKind.PROTOCOL,
        ErrorKind.CONNECTION_LIMIT,
        ErrorKind.PREVIOUS_NOT_FOUND,
    }
)


@dataclass
class TurnRecord:
    strategy: str
    task: str
    model: str
    agent: int
    task_seq: int  # the agent's n-th task
    turn: int  # 0-based model turn within the task
    started_at: float  # unix time
    duration_ms: float
    ttft_ms: float | None  # request start to first output delta; None when no output arrived
    bytes_sent: int  # everything this turn put on the wire, a (re)connect's handshake included
    bytes_received: int
    payload_bytes_sent: int = 0  # the request's bytes before any compression (the JSON, the message)
    payload_bytes_received: int = 0  # the reply's after decompression (SSE body, WebSocket messages)
    connect_bytes_sent: int = 0  # the part of bytes_sent that was a connection handshake
    connect_bytes_received: int = 0
    # the usage the server reported; None: it reported none (``usage: null`` or absent, as some
    # servers send, and every failed attempt): unknown, not 0
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None  # the part of output_tokens the model reasoned
    tool_calls: int = 0
    events: int = 0
    ok: bool = True
    error_kind: str | None = None
    error_code: str | None = None
    http_status: int | None = None
    response_id: str | None = None
    recovery: bool = False  # this attempt resent the full context after a failure
    error_type: str | None = None  # for a 429: "requests", "tokens" or "connections"
    # the rate-limit headers of this attempt's response (None when absent, e.g. mid-socket turns)
    rl_remaining_requests: int | None = None
    rl_remaining_tokens: int | None = None
    rl_reset_requests_ms: float | None = None
    rl_reset_tokens_ms: float | None = None
    retry_after_ms: float | None = None
    wait_ms: float = 0.0  # the backoff this agent waited after this attempt (429 policy or retry)
    attempt: int = 0  # 0 for a turn's first attempt, n for its n-th retry (after a 429 or a failure)
    # from the first token's arrival (kernel stamp) to its agent reading it: this worker's own
    # queueing, kept out of ttft_ms. None where there is no stamp (TLS): ttft_ms then includes it.
    client_lag_ms: float | None = None
    profile: str = "minimal"  # the client profile whose request shape this turn sent
    warmup: bool = False  # this attempt began with a warm-up request (generate: false), counted in it
    link: str = ""  # the link the agent was behind (--link, core.link), "" for none: loopback as it is

    @property
    def usage_unknown(self) -> bool:
        """A successful turn whose server reported no usage (its tokens are unknown)."""
        return self.ok and self.input_tokens is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": "turn"}


@dataclass
class TaskRecord:
    strategy: str
    task: str
    model: str
    agent: int
    task_seq: int
    started_at: float
    duration_ms: float
    turns: int
    tool_calls: int
    bytes_sent: int
    bytes_received: int
    payload_bytes_sent: int = 0
    payload_bytes_received: int = 0
    input_tokens: int = 0  # over the turns whose usage is known (usage_unknown_turns: the others)
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    usage_unknown_turns: int = 0  # successful turns whose server reported no usage
    tool_time_ms: float = 0.0
    recoveries: int = 0  # attempts that resent the full context because the server's state was lost
    retries: int = 0  # attempts after a transient failure (5xx, connection, timeout, protocol)
    ok: bool = True
    error_kind: str | None = None
    ttft_first_ms: float | None = None
    ttft_max_ms: float | None = None  # the slowest successful turn's (an objective on TTFT binds every turn)
    rate_limited: int = 0  # 429 answers met (and waited out, under --on-429 honor/retry)
    rate_limit_wait_ms: float = 0.0
    turn_bytes_sent: list[int] = field(default_factory=list)
    profile: str = "minimal"  # the client profile whose request shape the task sent
    link: str = ""  # the link the agent was behind (--link), "" for none
    # subagents: a session is a root task and the subagents below it (task_seq of the same agent)
    spawn: str = ""  # how this task began as a subagent: "fresh" or "fork" ("" for a root task)
    parent_seq: int | None = None  # the task_seq of the task whose call spawned it (None: a root)
    root_seq: int | None = None  # the task_seq of its session's root task (None: it is the root)
    depth: int = 0  # 0 for a root task, 1 for its subagents, ...
    subagents: int = 0  # subagents its calls spawned (directly)
    subagent_ms: float = 0.0  # the sum of their wall times (its own wall time holds them in parallel)
    # a long session's idle time (an imported session's human pauses, held at --time-scale)
    pauses: int = 0  # the human's pauses held before a user message
    pause_ms: float = 0.0  # their wall time (time-scaled), inside duration_ms
    idle_closes: int = 0  # WebSockets it closed after --idle-close of a pause (the next turn reconnects)
    reconnects: int = 0  # WebSockets its turns opened after its agent's first (lifetime, idle close, drop)
    compactions: int = 0  # turns that sent a compacted context (a new chain: no previous_response_id)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": "task"}


def record_from_dict(cls: type[R], data: dict[str, Any]) -> R:
    """A record read back from its JSON line (the ``kind`` key and unknown keys are left out)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class RecordsWriter:
    """Appends records as JSON lines; flushed per task so an interrupted run keeps what it measured."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, record: TurnRecord | TaskRecord) -> None:
        self.stream.write(json.dumps(record.as_dict(), separators=(",", ":")) + "\n")
        if isinstance(record, TaskRecord):
            self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
        self.stream.close()
