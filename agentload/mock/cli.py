"""``agentload mock``: the mock's options (one field table, defaults read from its config) and the
checked MockConfig made of them."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields
from pathlib import Path

from ..core.argparsing import Parser
from ..core.errors import AgentloadError, TaskFileError
from ..core.fields import add_arguments, opt, read_options
from ..core.protocol import MOCK_KEY_ENV
from ..workload import load_task
from .config import SERVER_PROFILES, DefaultScript, LatencyModel, MockConfig, ServerCost
from .faults import FAULTS, FaultConfig, FaultSpecError, parse_faults

_D, _L, _S, _F = MockConfig, LatencyModel, DefaultScript, FaultConfig  # the defaults' one place
_OAI = SERVER_PROFILES["openai-like"]


@dataclass(frozen=True)
class MockOptions:
    host: str = opt(_D.host, f"bind address (default {_D.host}; loopback unless told)")
    port: int = opt(_D.port, f"port (default {_D.port}; 0 picks a free one)", minimum=0, maximum=65535)
    api_key: str | None = opt(
        None, f"require this bearer token (prefer the {MOCK_KEY_ENV} environment variable)"
    )
    tls_cert: Path | None = opt(
        None,
        "serve https and wss with this PEM certificate (chain); needs --tls-key. Agents trust its CA "
        "through SSL_CERT_FILE",
    )
    tls_key: Path | None = opt(None, "the PEM private key of --tls-cert")
    latency: str = opt(
        "realistic",
        "latency preset: realistic (the defaults below) or zero (capacity tests)",
        choices=("realistic", "zero"),
    )
    ttft_ms: float | None = opt(None, f"base time to first token (default {_L.ttft_ms:g})", minimum=0)
    prefill_ms_per_1k: float | None = opt(
        None, f"extra TTFT per 1000 uncached input tokens (default {_L.prefill_ms_per_1k:g})", minimum=0
    )
    cached_ms_per_1k: float | None = opt(
        None, f"extra TTFT per 1000 cached input tokens (default {_L.cached_ms_per_1k:g})", minimum=0
    )
    output_tps: float | None = opt(
        None, f"output tokens per second, 0 = unpaced (default {_L.output_tps:g})", minimum=0
    )
    server_profile: str = opt(
        "none",
        "the server's own work per request before its model starts, added to TTFT (mock.config.ServerCost; "
        "docs/time-model.md): none, or openai-like (fitted by `agentload calibrate` to the published "
        "HTTP and WebSocket figures); the five options below override its figures",
        choices=tuple(SERVER_PROFILES),
    )
    admission_ms: float | None = opt(
        None,
        "per new HTTP request (and per WebSocket upgrade): authentication, rate limits, routing "
        f"(openai-like: {_OAI.admission_ms:g})",
        minimum=0,
    )
    ingest_ms_per_kb: float | None = opt(
        None,
        f"per KB of request body: parsing and validating it (openai-like: {_OAI.ingest_ms_per_kb:g})",
        minimum=0,
    )
    reasoning_item_ms: float | None = opt(
        None,
        "per resent reasoning item: decrypting and checking its encrypted_content (openai-like: "
        f"{_OAI.reasoning_item_ms:g})",
        minimum=0,
    )
    store_load_ms: float | None = opt(
        None,
        "per previous_response_id or conversation loaded from the store (HTTP; a WebSocket connection "
        f"that does not hold it) (openai-like: {_OAI.store_load_ms:g})",
        minimum=0,
    )
    prompt_ms_per_1k: float | None = opt(
        None,
        "per 1,000 prompt tokens rendered, tokenized and hashed for the prompt cache: the whole prompt, "
        f"but only the new items on a warm WebSocket connection (openai-like: {_OAI.prompt_ms_per_1k:g})",
        minimum=0,
    )
    time_scale: float = opt(
        1.0,
        "run every modelled time this many times as long (0.1: ten times faster), the latency model's and "
        "the server profile's alike, their shape kept, and the WebSocket lifetime with them (sweeps and the "
        "demo run at 0.1)",
        above=0,
    )
    chunk_tokens: int = opt(_D.chunk_tokens, "output tokens per delta event", minimum=1)
    ws_lifetime: float = opt(
        _D.ws_lifetime_s,
        f"WebSocket connection lifetime in seconds, x --time-scale (default {_D.ws_lifetime_s:g}: OpenAI's 60 "
        "minutes)",
        above=0,
    )
    gc_interval: float = opt(
        _D.gc_interval_s,
        "seconds between the mock's full garbage collections, with none in between; 0 = Python's "
        f"automatic collector, whose pauses delay tokens (default {_D.gc_interval_s:g})",
        minimum=0,
        meaning="0 = Python's automatic collector",
    )
    default_calls: int = opt(
        _S.calls_per_turn, "tool calls per turn for conversations that name no task", minimum=1
    )
    default_turns: int = opt(
        _S.turns,
        "turns of tool calls before the final message, for conversations that name no task",
        minimum=0,
    )
    tasks_dir: Path = opt(_D.tasks_dir, "where task files are looked up by name")
    task: tuple[str, ...] = opt(
        (),
        "a task file of your own, found by its name (repeatable); the agents' --task files must reach "
        "the mock, or their conversations get a 400 naming the task",
        metavar="FILE",
        repeat=True,
    )
    prompt_cache: str = opt(
        "on",
        "prompt caching of repeated prefixes of 1,024 tokens or more, as OpenAI's (default on)",
        choices=("on", "off"),
    )
    prompt_cache_ttl: float = opt(
        _D.prompt_cache_ttl_s,
        f"seconds an unused cached prefix is kept (default {_D.prompt_cache_ttl_s:g})",
        above=0,
    )
    prompt_cache_blocks: int = opt(
        _D.prompt_cache_blocks,
        f"128-token prefix blocks the prompt cache remembers, least recently used out first "
        f"(default {_D.prompt_cache_blocks:,})",
        minimum=1,
    )
    ws_compression: str = opt(
        "on",
        "accept WebSocket permessage-deflate when a client offers it (default on)",
        choices=("on", "off"),
    )
    response_compression: str = opt(
        "on",
        "compress model replies (SSE and JSON) with gzip or zstd when a client's Accept-Encoding asks "
        "(default on)",
        choices=("on", "off"),
    )
    model: str = opt(_D.model_name_default, "model name listed at /v1/models")
    rpm: int = opt(_D.rpm, f"requests per minute per API key (default {_D.rpm:,})", minimum=1)
    tpm: int = opt(
        _D.tpm,
        f"tokens per minute per API key, input + estimated output, reserved at request start (default {_D.tpm:,})",
        minimum=1,
    )
    max_connections: int = opt(
        _D.max_connections,
        "concurrent WebSocket connections per API key; more are refused at the upgrade with 429 "
        "(default: no limit)",
        minimum=0,
        meaning="0 = no limit",
    )
    rate_burst: float = opt(
        _D.rate_burst_s,
        f"seconds of quota a key may burst; OpenAI quantizes per-minute limits (default {_D.rate_burst_s:g})",
        above=0,
    )


@dataclass(frozen=True)
class FaultOptions:
    faults: str = opt(
        "",
        "e.g. drop=0.02,http_503=1%,stall=every:40 (all=0.01 sets every fault); default: none",
        metavar="NAME=RATE,...",
    )
    fault_slow_s: float = opt(_F.slow_s, f"slow_first_byte delay (default {_F.slow_s:g} s)", minimum=0)
    fault_stall_s: float = opt(_F.stall_s, f"stall length (default {_F.stall_s:g} s)", minimum=0)
    fault_seed: int | None = opt(None, "seed for the fault draws (repeatable runs)")


FAULTS_HELP = (
    "Each fault gets a rate: a probability per response (0.02 or 2%) or a schedule (every:50). Faults: "
    + "; ".join(f"{name}: {what}" for name, (what, _) in FAULTS.items())
    + "."
)


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "mock",
        help="run the embedded OpenAI-compatible mock server",
        description="The embedded OpenAI-compatible mock: Responses API over HTTP (SSE/JSON) and "
        "WebSocket, Chat Completions, a scripted model and a latency model.",
    )
    add_arguments(p, MockOptions)
    add_arguments(p, FaultOptions, title="fault injection", description=FAULTS_HELP)
    p.set_defaults(run=run)


def fault_config(a: argparse.Namespace) -> FaultConfig:
    o = read_options(FaultOptions, a)
    try:
        rates = parse_faults(o.faults)
    except FaultSpecError as e:
        raise AgentloadError(f"--faults: {e}") from None
    return FaultConfig(rates=rates, slow_s=o.fault_slow_s, stall_s=o.fault_stall_s, seed=o.fault_seed)


def mock_config(a: argparse.Namespace) -> MockConfig:
    o = read_options(MockOptions, a)
    lat = LatencyModel.zero() if o.latency == "zero" else LatencyModel()
    overrides = {f.name: getattr(o, f.name) for f in fields(LatencyModel) if getattr(o, f.name) is not None}
    lat = LatencyModel(**{**lat.__dict__, **overrides}).scaled(o.time_scale)
    cost = SERVER_PROFILES[o.server_profile]
    costs = {f.name: getattr(o, f.name) for f in fields(ServerCost) if getattr(o, f.name) is not None}
    cost = ServerCost(**{**cost.__dict__, **costs}).scaled(o.time_scale)
    for flag, value, fix in (
        ("--host", o.host, "give an address to listen on (127.0.0.1; 0.0.0.0 for every interface)"),
        ("--model", o.model, "give the model name /v1/models lists (e.g. gpt-5.4)"),
        ("--api-key", o.api_key, f"give the key clients must send, or leave it out (and {MOCK_KEY_ENV} unset) to take any"),
    ):  # fmt: skip
        if value is not None and not value.strip():
            raise AgentloadError(f"{flag}: empty; {fix}")
    if (o.tls_cert is None) != (o.tls_key is None):
        raise AgentloadError("--tls-cert and --tls-key: give both (a PEM certificate and its key) or neither")
    for flag, path in (("--tls-cert", o.tls_cert), ("--tls-key", o.tls_key)):
        if path is not None and not path.is_file():
            raise AgentloadError(f"{flag}: {path} is not a file")
    if not o.tasks_dir.is_dir():
        raise AgentloadError(f"--tasks-dir: {o.tasks_dir} is not a directory")
    task_files = tuple(Path(t) for t in o.task)
    for path in task_files:
        try:
            load_task(str(path))
        except TaskFileError as e:
            raise AgentloadError(f"--task: {e}") from None
    return MockConfig(
        host=o.host,
        port=o.port,
        api_key=o.api_key or os.environ.get(MOCK_KEY_ENV) or None,
        tls_cert=o.tls_cert,
        tls_key=o.tls_key,
        latency=lat,
        server_cost=cost,
        default_script=DefaultScript(calls_per_turn=o.default_calls, turns=o.default_turns),
        tasks_dir=o.tasks_dir,
        task_files=task_files,
        prompt_cache=o.prompt_cache == "on",
        prompt_cache_ttl_s=o.prompt_cache_ttl,
        prompt_cache_blocks=o.prompt_cache_blocks,
        ws_compression=o.ws_compression == "on",
        response_compression=o.response_compression == "on",
        chunk_tokens=o.chunk_tokens,
        ws_lifetime_s=o.ws_lifetime * o.time_scale,  # (a compressed long session meets it when it would)
        gc_interval_s=o.gc_interval,
        model_name_default=o.model,
        rpm=o.rpm,
        tpm=o.tpm,
        max_connections=o.max_connections,
        rate_burst_s=o.rate_burst,
        faults=fault_config(a),
    )


def run(a: argparse.Namespace) -> int:
    config = mock_config(a)
    from .server import serve  # aiohttp and the app load only when the mock is served

    try:
        serve(config)
    except OSError as e:
        raise AgentloadError(
            f"mock: cannot listen on {config.host}:{config.port}: {e.strerror} (pick another --port, or 0 "
            "for a free one)"
        ) from None
    return 0
