"""agentload's Locust options (one field table) and the validated run settings made from them.

The options are added to Locust's own parser, so they work on the command line, in locust.conf, as
``LOCUST_<NAME>`` environment variables and, where a field says so, in the web UI's form; the master
hands them to its workers. ``RunSettings.build`` checks every value, whichever way it came, and a
bad one stops the run with one line naming the flag and the fix.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..client import AgentSettings, On429, Timeouts, TransportConfig
from ..core.deflate import BodyEncoding, DeflateParams
from ..core.errors import AgentloadError
from ..core.fields import add_arguments, opt, read_options
from ..core.link import PROFILES as LINK_PROFILES
from ..core.link import LinkSpec, LinkSpecError, link_text, parse_link
from ..core.protocol import API_KEY_ENV, REASONING_EFFORTS
from ..core.strategies import BY_NAME, NAMES, Strategy
from ..core.version import __version__
from ..metrics.slo import METRICS, Objective, parse_slo
from ..workload import Task, TextCache, builtin_task_names, load_tasks
from ..workload.profile import MINIMAL, ClientProfile, load_profile
from .loop import Loop

USER_AGENT = f"agentload/{__version__}"
RUN_ID = re.compile(r"[A-Za-z0-9._:+@/-]{1,100}")  # an InfluxDB tag value: no space, quote or line break
MAX_SESSION_RATE = 10_000  # sessions/s per strategy across the fleet
MAX_TASK_RATE = 100.0  # tasks/s per agent
MAX_AGENTS_PER_USER = 32  # an engineer's agents (ws-mux: a lane each, and a WebSocket has 32 lanes)
STRATEGIES_KEY = "agentload_strategies"  # on the parsed options: the strategies the master chose (selection)


class WsCompression(StrEnum):
    OFF = "off"
    DEFLATE = "deflate"


@dataclass(frozen=True)
class RunOptions:
    """Every agentload option of a Locust run, as given (checked, not yet interpreted)."""

    strategy: str = opt(
        "all",
        "continuation strategies to run, comma-separated: " + ", ".join(NAMES) + " (default: all, equal "
        "weights)",
        web_ui=True,
    )
    task: str = opt(
        "all",
        "coding tasks, comma-separated built-in names or task files (default: all built-in)",
        web_ui=True,
    )
    model: str = opt("gpt-5.4", "model name to request", web_ui=True)
    reasoning_effort: str = opt(
        "",
        f"reasoning.effort to request of a reasoning model ({', '.join(REASONING_EFFORTS)}; "
        "default: none sent, the model's own default)",
        choices=("", *REASONING_EFFORTS),
        web_ui=True,
    )
    tool_latency_scale: float = opt(
        1.0, "multiply every simulated tool latency (0 = no tool time)", minimum=0, web_ui=True
    )
    tool_latency_jitter: float = opt(
        0.25,
        "draw each turn's tool time uniformly within +-this fraction of the task's (default 0.25; 0 = "
        "exact): agents that start together drift apart, as a real fleet does, instead of sending their "
        "requests in lockstep",
        minimum=0,
        maximum=1,
        meaning="0 = exact, 1 = +-100 %",
    )
    time_scale: float = opt(
        1.0,
        "run the human's pauses of an imported session (a turn's pause_s) and --idle-close this many "
        "times as long (0.001: a 2-hour session's pauses in 7 s); give the mock the same --time-scale so "
        "its WebSocket lifetime scales with them",
        above=0,
    )
    idle_close: float = opt(
        0.0,
        "a WebSocket agent closes its connection after this many seconds of a human pause (time-scaled) "
        "and reconnects for the next turn, counted (default 0: held open through every pause, as Codex does)",
        minimum=0,
        meaning="0 = never closed",
    )
    client_profile: str = opt(
        "",
        "the request shape every agent sends: a built-in client profile (minimal: the published "
        "harness's; codex: Codex CLI 0.171's, recorded) or a profile file (default: each task's own, "
        "a recorded task's recorded one, else minimal)",
        web_ui=True,
    )
    resend_instructions: bool = opt(
        False, "chained strategies also resend instructions and tools every turn", web_ui=True
    )
    connect_timeout: float = opt(
        10.0, "seconds for TCP connect, TLS and the WebSocket upgrade (default 10)", above=0
    )
    first_token_timeout: float = opt(
        120.0,
        "seconds from sending a request to its first output token, in all (default 120: a reasoning "
        "model may think that long in silence)",
        above=0,
    )
    idle_timeout: float = opt(
        60.0,
        "seconds of silence once output flows before the stream counts as stalled (default 60)",
        above=0,
    )
    max_retries: int = opt(
        2,
        "new attempts of a turn after a transient failure (5xx, connection lost, timeout, malformed "
        "stream), with the openai SDK's backoff; a WebSocket agent reconnects and resends the full "
        "context (a recovery) when its connection held the state (default 2, as the SDK)",
        minimum=0,
        meaning="0 = no retries",
    )
    link: str = opt(
        "",
        "the network between each agent and the API, modelled in the agents' sockets: a profile "
        f"({', '.join(LINK_PROFILES)}), figures (e.g. rtt=40ms,up=20mbit,down=100mbit,jitter=5ms,loss=0.1%), "
        "or both (broadband,rtt=80ms); each request costs a round trip and its bytes at the uplink rate, "
        "with TCP slow start's stalls from the initial window after an idle pause (slowstart=idle, "
        "Linux's default; fresh: kept across pauses; off; iw=10 segments), a reply its bytes at the "
        "downlink rate, a connection its handshakes' round trips (default: none, loopback as it is; "
        "docs/time-model.md)",
        metavar="PROFILE|rtt=..,up=..,down=..",
        web_ui=True,
    )
    uplink_kbps: float = opt(
        0.0,
        "the uplink part of --link alone (kept for older command lines): shape each agent's upload rate "
        "to this many kbit/s (0 = not shaped); with --link, it sets that link's uplink",
        minimum=0,
        meaning="0 = not shaped",
    )
    ws_compression: WsCompression = opt(
        WsCompression.OFF,
        "WebSocket agents offer permessage-deflate (RFC 7692) on the upgrade, as Codex does: deflate, or off "
        "(default: the published harness's uncompressed frames); records keep the wire bytes and the "
        "payload bytes before compression apart",
        web_ui=True,
    )
    ws_window_bits: int = opt(
        12,
        "with --ws-compression deflate: the deflate window both ways (client_max_window_bits, and "
        "server_max_window_bits below 15), 9-15; 12 keeps 10,000 connections' zlib state near 0.5 GiB "
        "(bench.deflate_memory), 15 is zlib's default (about 3 GiB) and compresses a little more",
        minimum=9,
        maximum=15,
    )
    http_compression: BodyEncoding = opt(
        BodyEncoding.OFF,
        "HTTP agents compress their request bodies: gzip or zstd (Content-Encoding; the target must "
        "accept it: the mock does), or off (default)",
        web_ui=True,
    )
    http_accept_encoding: BodyEncoding = opt(
        BodyEncoding.OFF,
        "HTTP agents ask for compressed replies: gzip or zstd (Accept-Encoding; the mock compresses its "
        "SSE and JSON replies when asked), or off (default); records keep the wire bytes and the "
        "decoded payload bytes apart",
        web_ui=True,
    )
    no_preflight: bool = opt(
        False,
        "skip the start-up check that --host answers and accepts the API key (GET /models under its "
        "base: /v1/models by default)",
    )
    records: str = opt(
        "",
        "write every turn and task record as JSON lines to this file (workers add their id before the "
        "suffix)",
    )
    summary_json: str = opt("", "write the per-strategy comparison as JSON at the end")
    # (no digits in the names: the web UI turns "429" in a name into "4 29" in its label)
    on_rate_limit: On429 = opt(
        On429.HONOR,
        "on a 429: honor (wait at least retry-after-ms / retry-after / the reset header, a growing floor "
        "when refused again, with jitter), retry (own exponential backoff), fail (fail the task)",
        flag="--on-429",
        web_ui=True,
    )
    max_rate_limit_waits: int = opt(
        20, "429 waits per turn before the task fails as rate_limited", flag="--max-429-retries", minimum=0
    )
    task_rate: float = opt(
        0.0,
        "tasks per second each agent starts (open loop, Locust's constant_throughput); 0 = back to back "
        f"(closed loop); at most {MAX_TASK_RATE:g} (a task is at least one model turn)",
        minimum=0,
        maximum=MAX_TASK_RATE,
        meaning="0 = closed loop",
        web_ui=True,
    )
    session_rate: float = opt(
        0.0,
        "open-loop sessions: agent sessions that arrive per second, for each strategy, across the fleet; "
        "each opens its own connection, runs one task and leaves (-u caps how many run at once; an arrival "
        "that finds no free agent is dropped and counted); 0 = agents work back to back; at most "
        f"{MAX_SESSION_RATE:,} (one arrival clock per strategy and process could not keep up past it)",
        minimum=0,
        maximum=MAX_SESSION_RATE,
        meaning="0 = no sessions loop",
        web_ui=True,
    )
    burstiness: float = opt(
        1.0,
        "with --session-rate: the shape of the gamma distribution of the gaps between arrivals (1 = "
        "Poisson; below 1 burstier, above 1 more even; as vLLM's benchmark and AIPerf)",
        above=0,
        web_ui=True,
    )
    agents_per_user: int = opt(
        1,
        "agents each Locust user runs at once, as an engineer's workstation runs several (each its own "
        "tasks and its own connection; on ws-mux all on the user's one WebSocket, a lane each); -u "
        f"counts engineers (default 1: a user is one agent; at most {MAX_AGENTS_PER_USER})",
        minimum=1,
        maximum=MAX_AGENTS_PER_USER,
        web_ui=True,
    )
    api_keys: str = opt(
        "",
        "a file of API keys, one a line: each Locust user (an engineer, with all its agents) sends its "
        "own, the file's keys in turn, so a key's rate limits bind per engineer as at OpenAI (default: "
        f"every agent sends {API_KEY_ENV}); the keys are never logged nor written to records",
        metavar="FILE",
    )
    start_jitter: float = opt(
        1.0,
        "each agent waits a random 0..this many seconds before its first task (default 1): Locust spawns "
        "a second's agents at one instant, and without this they would all send their first request "
        "together, a burst no real fleet makes (0 = start at once)",
        minimum=0,
    )
    slo: str = opt(
        "",
        "service-level objectives, comma-separated METRIC=LIMIT (e.g. ttft_p99_ms=2000,task_s_p90=60), each "
        "an upper bound checked per strategy at the end; goodput counts the tasks that met them all, and a "
        "failing objective makes the exit code 1 (metrics: " + ", ".join(METRICS) + ")",
        web_ui=True,
    )
    run_id: str = opt(
        "",
        "name of this run in InfluxDB and reports (default: a new timestamped id per test start)",
        web_ui=True,
    )
    cpu_warn_percent: float = opt(
        70.0,
        "warn when a worker's CPU passes this: its timings then include queueing in the generator (0 = "
        "never; Locust's own warning is at 90)",
        minimum=0,
        maximum=100,
        meaning="0 = never warn",
    )


def add_run_options(parser: Any) -> None:
    add_arguments(parser, RunOptions, locust=True)


def parse_list(value: str) -> list[str]:
    """Comma-separated option values (``ws,http-stateless``) or a JSON list."""
    value = value.strip()
    if value.startswith("["):
        try:
            return [str(v) for v in json.loads(value)]
        except ValueError:
            pass
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_strategies(value: str) -> list[Strategy]:
    """``--strategy``: the names, each once ("all" for every one)."""
    names = parse_list(value)
    if not names:
        raise AgentloadError(f"--strategy: empty; give one or more of {', '.join(NAMES)}, or all")
    if names == ["all"]:
        names = list(NAMES)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise AgentloadError(f"--strategy: unknown strategy {unknown[0]!r} (use one of: {', '.join(NAMES)})")
    return [BY_NAME[n] for n in dict.fromkeys(names)]


def repeated(value: str) -> list[str]:
    """The names a comma-separated option gives more than once (legal: each counts once)."""
    names = parse_list(value)
    return sorted({n for n in names if names.count(n) > 1})


def is_loopback(host: str) -> bool:
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host(host: str) -> None:
    """``--host`` names an http(s) origin, and a target that is not this machine has an API key."""
    try:
        u = urlsplit(host)
    except ValueError as e:  # (an unclosed IPv6 bracket, say)
        raise AgentloadError(
            f"--host: {host!r} is not a URL ({e}; e.g. http://[::1]:8000 or http://127.0.0.1:8000)"
        ) from None
    try:
        port_ok = u.port is None or u.port > 0
    except ValueError:  # not a number, or past 65535
        port_ok = False
    if not port_ok:
        raise AgentloadError(
            f"--host: {host!r} has no valid port (give a number from 1 to 65535, e.g. :8000)"
        )
    if u.scheme not in ("http", "https") or not u.hostname:
        raise AgentloadError(
            f"--host: {host!r} is not an http(s) URL (e.g. http://127.0.0.1:8000 for the mock, "
            "https://api.openai.com for OpenAI)"
        )
    if u.query or u.fragment or u.username or u.password:  # (the base URL is scheme, host and path)
        raise AgentloadError(
            f"--host: give the API's base URL alone, without a query, a fragment or credentials (e.g. "
            f"{u.scheme}://{u.hostname}{f':{u.port}' if u.port else ''}{u.path}; the key goes in {API_KEY_ENV})"
        )
    if not is_loopback(host) and not os.environ.get(API_KEY_ENV):
        raise AgentloadError(
            f"--host {u.hostname} is not the local mock and {API_KEY_ENV} is not set "
            f"(export {API_KEY_ENV}=... or point --host at the mock)"
        )


@dataclass(frozen=True)
class RunSettings:
    """One Locust process's interpreted settings: the options, the strategies, the loaded tasks."""

    options: RunOptions
    strategies: tuple[Strategy, ...]
    tasks: tuple[Task, ...]
    timeouts: Timeouts
    objectives: tuple[Objective, ...] = ()
    profile: ClientProfile | None = None  # --client-profile; None: each task's own
    link: LinkSpec | None = None  # --link (and --uplink-kbps); None: loopback as it is
    api_keys: tuple[str, ...] = field(default=(), repr=False)  # --api-keys' (never shown)

    @property
    def profile_names(self) -> list[str]:
        """The client profiles this run's agents send with (what summaries and reports name)."""
        if self.profile is not None:
            return [self.profile.name]
        return sorted({(t.client_profile or MINIMAL).name for t in self.tasks})

    @classmethod
    def build(cls, namespace: Any, host: str = "") -> RunSettings:
        o = read_options(RunOptions, namespace)
        strategies = parse_strategies(o.strategy)
        chosen = getattr(namespace, STRATEGIES_KEY, None)
        if chosen is not None:  # what the master's selection made of --strategy and the user classes
            strategies = [BY_NAME[n] for n in chosen if n in BY_NAME]
        if o.run_id and not RUN_ID.fullmatch(o.run_id):
            raise AgentloadError(
                f"--run-id {o.run_id[:40]!r}: use up to 100 letters, digits and . _ : + @ / - (no spaces, "
                "quotes or line breaks: it names the run in InfluxDB and the dashboard)"
            )
        if not o.model.strip():
            raise AgentloadError("--model: empty; give the model to request (e.g. --model gpt-5.4)")
        names = parse_list(o.task)
        if not names:
            raise AgentloadError("--task: empty; give built-in task names or task files, or all")
        tasks = load_tasks(builtin_task_names() if names == ["all"] else names)
        if host:
            check_host(host)
        if o.agents_per_user > 1 and (o.session_rate > 0 or o.task_rate > 0):
            raise AgentloadError(
                "--agents-per-user: an engineer's agents work back to back; give it without --session-rate "
                "and --task-rate"
            )
        if o.session_rate > 0 and o.task_rate > 0:
            raise AgentloadError(
                "--session-rate and --task-rate: give one (sessions arrive across the fleet; --task-rate "
                "paces each agent)"
            )
        return cls(
            options=o,
            strategies=tuple(strategies),
            tasks=tuple(tasks),
            timeouts=Timeouts(o.connect_timeout, o.first_token_timeout, o.idle_timeout),
            objectives=parse_slo(o.slo),
            profile=load_profile(o.client_profile) if o.client_profile else None,
            link=read_link(o.link, o.uplink_kbps),
            api_keys=read_api_keys(o.api_keys) if o.api_keys else (),
        )

    @property
    def loop(self) -> Loop:
        o = self.options
        return Loop.of(o.task_rate, o.session_rate, o.burstiness)

    @property
    def ws_deflate(self) -> DeflateParams | None:
        """What WebSocket agents offer on the upgrade (None: no compression)."""
        o = self.options
        if o.ws_compression == WsCompression.OFF:
            return None
        return DeflateParams(client_max_window_bits=o.ws_window_bits, server_max_window_bits=o.ws_window_bits)

    @cached_property
    def transport(self) -> TransportConfig:
        """How every agent of this run connects (made once, on first use)."""
        o = self.options
        return TransportConfig(
            self.timeouts, self.link, self.ws_deflate, o.http_compression, o.http_accept_encoding
        )

    def with_strategies(self, strategies: tuple[Strategy, ...]) -> RunSettings:
        return replace(self, strategies=strategies)

    @property
    def strategy_names(self) -> list[str]:
        return [s.name for s in self.strategies]

    def agent(self, strategy: Strategy, outputs: TextCache) -> AgentSettings:
        o = self.options
        return AgentSettings(
            strategy=strategy,
            model=o.model,
            reasoning_effort=o.reasoning_effort or None,
            tool_latency_scale=o.tool_latency_scale,
            tool_latency_jitter=o.tool_latency_jitter,
            time_scale=o.time_scale,
            idle_close_s=o.idle_close,
            resend_instructions=o.resend_instructions,
            on_429=o.on_rate_limit,
            max_429_retries=o.max_rate_limit_waits,
            max_retries=o.max_retries,
            outputs=outputs,
            profile=self.profile,
            link=link_text(self.link),
        )


def read_link(text: str, uplink_kbps: float = 0.0) -> LinkSpec | None:
    """``--link`` checked, with ``--uplink-kbps`` (the older flag) as its uplink."""
    try:
        link = parse_link(text)
    except LinkSpecError as e:
        raise AgentloadError(f"--link: {e}") from None
    if uplink_kbps > 0:
        link = replace(link or LinkSpec(), up_kbps=uplink_kbps)
    return link


def read_api_keys(path: str) -> tuple[str, ...]:
    """--api-keys: a key a line (blank lines and ``#`` comments skipped). A problem is one line naming
    the file and the line, never the key."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise AgentloadError(
            f"--api-keys {path}: cannot read it ({e.__class__.__name__}); give a file of keys, one a line"
        ) from None
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        if any(c.isspace() for c in key) or not key.isprintable():
            raise AgentloadError(
                f"--api-keys {path}: line {n} is not one key (spaces or control characters in it)"
            )
        keys.append(key)
    if not keys:
        raise AgentloadError(f"--api-keys {path}: no keys in it; write one a line")
    return tuple(keys)


def request_headers(key: str | None = None) -> dict[str, str]:
    """An agent's headers: the API key as a bearer token, ``key`` (its engineer's, from --api-keys)
    or the environment's."""
    h = {"User-Agent": USER_AGENT}
    key = key or os.environ.get(API_KEY_ENV)
    if key:
        h["Authorization"] = f"Bearer {key}"
    return h
