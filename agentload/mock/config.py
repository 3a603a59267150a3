"""The mock server's settings and their defaults (the CLI flags read their defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..workload import TASKS_DIR
from .faults import FaultConfig


@dataclass(frozen=True)
class LatencyModel:
    """Time to first token and output pacing of the scripted model.

    TTFT = ttft_ms + prefill_ms_per_1k * uncached_input_tokens / 1000
                   + cached_ms_per_1k  * cached_input_tokens   / 1000
    then output streams at ``output_tps`` tokens per second (0 = as fast as the mock can write).
    Tokens are estimated as UTF-8 bytes / 4 (agentload.tokens). Cached tokens are the context the
    server already holds: the previous response on the same WebSocket connection, a stored response
    reached through previous_response_id, or a prefix the prompt cache holds (mock.prompt_cache). A
    reasoning model then thinks (its reasoning tokens, at the output pace) before the first visible
    token.
    """

    ttft_ms: float = 400.0
    prefill_ms_per_1k: float = 20.0
    cached_ms_per_1k: float = 2.0
    output_tps: float = 80.0

    @classmethod
    def zero(cls) -> LatencyModel:
        """No modelled latency at all: capacity tests of the generator and of the mock."""
        return cls(ttft_ms=0.0, prefill_ms_per_1k=0.0, cached_ms_per_1k=0.0, output_tps=0.0)

    def ttft_s(self, uncached_tokens: int, cached_tokens: int) -> float:
        ms = (
            self.ttft_ms
            + self.prefill_ms_per_1k * uncached_tokens / 1000.0
            + self.cached_ms_per_1k * cached_tokens / 1000.0
        )
        return ms / 1000.0

    def token_interval_s(self) -> float:
        return 1.0 / self.output_tps if self.output_tps > 0 else 0.0

    def scaled(self, scale: float) -> LatencyModel:
        """The same model ``scale`` times as long (0.1: ten times faster), its shape kept."""
        return LatencyModel(
            ttft_ms=self.ttft_ms * scale,
            prefill_ms_per_1k=self.prefill_ms_per_1k * scale,
            cached_ms_per_1k=self.cached_ms_per_1k * scale,
            output_tps=self.output_tps / scale if self.output_tps > 0 else 0.0,
        )


@dataclass(frozen=True)
class RequestWork:
    """What one request makes a server do before its model can start, in the units the server-cost
    model prices (mock.engine counts them; the calibration counts the same)."""

    new_request: bool = False  # a new HTTP request (a WebSocket connection paid at its upgrade)
    body_bytes: int = 0  # the request body as received (JSON)
    reasoning_items: int = 0  # resent reasoning items with encrypted_content, to decrypt and check
    store_load: bool = False  # previous_response_id or conversation: the store's, not the connection's
    prompt_tokens: int = 0  # prompt tokens rendered, tokenized and hashed for the prompt cache


@dataclass(frozen=True)
class ServerCost:
    """What a server does per request before the model's prefill starts: the time it adds to TTFT.

    Loopback has none of it, and it is where, with the network, what a continuation saves comes from:
    a warm WebSocket connection keeps its last response in memory and skips most of it. Each mechanism
    has its parameter (the defaults of ``--server-profile openai-like`` in SERVER_PROFILES, fitted by
    ``agentload calibrate`` to the published figures: docs/time-model.md):

    - admission: a new HTTP request is authenticated, rate-checked and routed to a model server; a
      WebSocket connection is, once, at its upgrade, and its requests are not;
    - ingest: a body is read, parsed and validated, per KB: a stateless request resends its whole
      context every turn, a continuation only its new items;
    - reasoning items: each resent reasoning item's encrypted_content is decrypted and checked;
    - store load: ``previous_response_id`` over HTTP (and on a WebSocket connection that does not hold
      it: ws-stored after a reconnect) loads the stored response and its context, as ``conversation``
      loads the conversation's latest response (http-conversation, every turn);
    - prompt: the prompt is rendered, tokenized and hashed to find it in the prompt cache, per 1,000
      tokens of it: the whole context for a request the connection does not hold, only the new items
      for a continuation on a warm connection.

    Nothing here is a result: time per task is what these make of the bytes and turns a task has.
    """

    admission_ms: float = 0.0
    ingest_ms_per_kb: float = 0.0
    reasoning_item_ms: float = 0.0
    store_load_ms: float = 0.0
    prompt_ms_per_1k: float = 0.0

    @property
    def enabled(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def request_s(self, w: RequestWork) -> float:
        ms = (
            (self.admission_ms if w.new_request else 0.0)
            + self.ingest_ms_per_kb * w.body_bytes / 1000.0
            + self.reasoning_item_ms * w.reasoning_items
            + (self.store_load_ms if w.store_load else 0.0)
            + self.prompt_ms_per_1k * w.prompt_tokens / 1000.0
        )
        return ms / 1000.0

    def scaled(self, scale: float) -> ServerCost:
        return ServerCost(**{f.name: getattr(self, f.name) * scale for f in fields(self)})


# The server profiles (--server-profile). openai-like: fitted by `agentload calibrate` (agentload.sweep
# .calibrate) so that the published workloads land in the published ranges: its fit and residuals are
# in docs/time-model.md, with the command that printed them.
SERVER_PROFILES: dict[str, ServerCost] = {
    "none": ServerCost(),
    "openai-like": ServerCost(
        admission_ms=93.0,
        ingest_ms_per_kb=11.0,
        reasoning_item_ms=160.0,
        store_load_ms=1000.0,
        prompt_ms_per_1k=62.0,
    ),
}


@dataclass(frozen=True)
class DefaultScript:
    """What the scripted model does for a conversation that names no task in its metadata: calls of the
    tools the client declared, ``calls_per_turn`` a turn for ``turns`` turns, then its final message (at
    once when no tool was declared: OpenAI never calls one the client did not)."""

    calls_per_turn: int = 3
    turns: int = 4
    final_message: str = "Done: the change is made and the tests pass."


@dataclass(frozen=True)
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None  # when set, every /v1 request must carry it as a bearer token
    tls_cert: Path | None = None  # with tls_key: serve https and wss (PEM files)
    tls_key: Path | None = None
    latency: LatencyModel = field(default_factory=LatencyModel)
    server_cost: ServerCost = field(default_factory=ServerCost)  # none unless --server-profile
    default_script: DefaultScript = field(default_factory=DefaultScript)
    tasks_dir: Path = TASKS_DIR
    task_files: tuple[Path, ...] = ()  # a user's task files, besides the tasks_dir (found by their name)
    prompt_cache: bool = True  # OpenAI's prompt caching of repeated prefixes (mock.prompt_cache)
    prompt_cache_ttl_s: float = 300.0  # an unused prefix is forgotten after this
    prompt_cache_blocks: int = 1_000_000  # 128-token blocks remembered in all (about 100 MB at most)
    ws_compression: bool = True  # accept permessage-deflate when a client offers it (RFC 7692)
    response_compression: bool = True  # gzip/zstd replies when a client's Accept-Encoding asks
    chunk_tokens: int = 1  # output tokens per delta event (OpenAI streams about one)
    ws_lifetime_s: float = 3600.0  # then websocket_connection_limit_reached
    ws_max_in_flight: int = 16
    ws_max_lanes: int = 32
    store_max_responses: int = 100_000
    conversations_max: int = 10_000  # conversations kept (their items too), least recently used out first
    ledger_max_exchanges: int = 100_000
    gc_interval_s: float = 60.0  # one full garbage collection this often; 0 = Python's own schedule
    model_name_default: str = "gpt-5.4"
    # per-API-key rate limits (OpenAI-style headers on every response; 429 beyond them)
    rpm: int = 1_000_000
    tpm: int = 10_000_000_000
    max_connections: int = 0  # concurrent WebSocket connections per key; 0 = no limit
    rate_burst_s: float = 1.0  # seconds of budget a bucket holds (OpenAI quantizes per-minute limits)
    faults: FaultConfig = field(default_factory=FaultConfig)  # none unless --faults

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"
