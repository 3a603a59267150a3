"""The run context: one Locust process's validated settings and its outputs.

It hangs off Locust's Environment (``environment.agentload``), so there is no module-level mutable
state. The settings are rebuilt when a worker receives the master's options; the outputs (summary,
records file, InfluxDB sink) live as long as the process.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from locust.env import Environment

from .agent import ON_429, STRATEGY_TABLE, AgentSettings, describe_outcome, parse_json_list
from .cpu_watch import CpuWatch
from .errors import AgentloadError
from .influx.config import InfluxConfig, influx_config
from .influx.sink import InfluxSink
from .influx.writer import WriteCounts
from .options import API_KEY_ENV, DEFAULTS
from .records import ErrorKind, RecordsWriter, TaskRecord, TurnRecord
from .stream import TurnOutcome
from .summary import RunSummary
from .synth import TextCache
from .transports import Timeouts
from .windows import SecondWindows
from .workload import Task, builtin_task_names, load_tasks


class TurnFailure(Exception):
    """What Locust's failure table shows for a failed turn: kind, status, code, message."""


def is_loopback(host: str) -> bool:
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class Outputs:
    """Where one process's measurements go; kept for the life of the process, across test runs."""

    summary: RunSummary = field(default_factory=RunSummary)
    records: RecordsWriter | None = None
    influx: InfluxSink | None = None
    # on the master: each worker's latest cumulative InfluxDB write counts (plus "pending")
    worker_influx: dict[str, dict[str, int]] = field(default_factory=dict)
    missing_workers: list[str] = field(default_factory=list)
    user_run_id: str = ""  # --run-id as given; empty means a new id per test start
    windows: SecondWindows = field(default_factory=SecondWindows)  # per-second counts (the probe's)
    cpu: CpuWatch = field(default_factory=CpuWatch)
    probe: Any = None  # the master's ProbeState when the probe shape drives the run
    agent_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def influx_totals(self, own: WriteCounts | None) -> WriteCounts:
        """This process's counts plus every worker's; points a worker still held count as unsent."""
        total = WriteCounts()
        if own is not None:
            total.merge(own.as_dict())
        for counts in self.worker_influx.values():
            total.merge(counts)
            total.dropped_unsent += int(counts.get("pending", 0))
        return total


@dataclass
class RunContext:
    """Everything an agentload run shares inside one Locust process."""

    environment: Environment
    strategies: list[str]
    tasks: list[Task]
    model: str
    tool_latency_scale: float
    tool_latency_jitter: float
    resend_instructions: bool
    timeouts: Timeouts
    max_retries: int = DEFAULTS["max_retries"]
    uplink_kbps: float = DEFAULTS["uplink_kbps"]
    on_429: str = DEFAULTS["on_429"]
    max_429_retries: int = DEFAULTS["max_429_retries"]
    task_rate: float = DEFAULTS["task_rate"]
    cpu_warn_percent: float = DEFAULTS["cpu_warn_percent"]
    start_jitter: float = DEFAULTS["start_jitter"]
    influx: InfluxConfig | None = None
    out: Outputs = field(default_factory=Outputs)
    tool_outputs: TextCache = field(default_factory=TextCache)  # rendered once per process, shared

    @property
    def flush_timeout_s(self) -> float:
        """How long the end of a run keeps retrying buffered InfluxDB points (0 without InfluxDB)."""
        return self.influx.flush_timeout_s if self.influx else 0.0

    def settings(self, strategy: str) -> AgentSettings:
        return AgentSettings(
            strategy=STRATEGY_TABLE[strategy],
            model=self.model,
            tool_latency_scale=self.tool_latency_scale,
            tool_latency_jitter=self.tool_latency_jitter,
            resend_instructions=self.resend_instructions,
            on_429=self.on_429,
            max_429_retries=self.max_429_retries,
            max_retries=self.max_retries,
            outputs=self.tool_outputs,
        )

    def headers(self) -> dict[str, str]:
        h = {"User-Agent": "agentload/0.1"}
        key = os.environ.get(API_KEY_ENV)
        if key:
            h["Authorization"] = f"Bearer {key}"
        return h

    # -------------------------------------------------------------------------- record sinks
    def on_attempt(self, strategy: str) -> None:
        self.out.summary.by_strategy[strategy].turns_started += 1

    def on_turn(self, rec: TurnRecord, out: TurnOutcome) -> None:
        fire = self.environment.events.request.fire
        # A turn cut off by the run stopping is recorded (every attempt started is accounted for) but
        # is no failure of the server: it stays out of Locust's failure table.
        if rec.error_kind != ErrorKind.INTERRUPTED:
            fire(
                request_type=rec.strategy,
                name="turn",
                response_time=rec.duration_ms,
                response_length=rec.bytes_received,
                exception=None if rec.ok else TurnFailure(describe_outcome(out)),
                context={"task": rec.task, "turn": rec.turn},
            )
        if rec.ttft_ms is not None:
            fire(
                request_type=rec.strategy,
                name="ttft",
                response_time=rec.ttft_ms,
                response_length=0,
                exception=None,
                context={},
            )
        out = self.out
        out.summary.add_turn(rec)
        out.windows.add_turn(rec)
        if out.records:
            out.records.write(rec)
        if out.influx:
            out.influx.turn(rec)

    def on_task(self, rec: TaskRecord) -> None:
        if rec.error_kind != ErrorKind.INTERRUPTED:
            self.environment.events.request.fire(
                request_type=rec.strategy,
                name="task",
                response_time=rec.duration_ms,
                response_length=rec.bytes_received,
                exception=None if rec.ok else TurnFailure(f"task failed: {rec.error_kind}"),
                context={},
            )
        out = self.out
        out.summary.add_task(rec)
        if out.records:
            out.records.write(rec)
        if out.influx:
            out.influx.task(rec)


def build_context(environment: Environment) -> RunContext:
    """Validate the options (one-line errors naming the flag) and build the run context."""
    o = environment.parsed_options
    names = parse_json_list(getattr(o, "strategy", "all") or "all")
    if names == ["all"]:
        names = list(STRATEGY_TABLE)
    unknown = [n for n in names if n not in STRATEGY_TABLE]
    if unknown:
        raise AgentloadError(
            f"--strategy: unknown strategy {unknown[0]!r} (use one of: {', '.join(STRATEGY_TABLE)})"
        )
    task_names = parse_json_list(getattr(o, "task", "all") or "all")
    if task_names == ["all"]:
        task_names = builtin_task_names()
    tasks = load_tasks(task_names)
    scale = float(getattr(o, "tool_latency_scale", 1.0))
    if scale < 0:
        raise AgentloadError("--tool-latency-scale: must be 0 or more")
    jitter = float(getattr(o, "tool_latency_jitter", DEFAULTS["tool_latency_jitter"]))
    if not 0 <= jitter <= 1:
        raise AgentloadError("--tool-latency-jitter: must be between 0 (exact) and 1 (+-100 %)")
    seconds = {}
    for name in ("connect_timeout", "first_token_timeout", "idle_timeout"):
        seconds[name] = float(getattr(o, name, DEFAULTS[name]))
        if seconds[name] <= 0:
            raise AgentloadError(f"--{name.replace('_', '-')}: must be more than 0 seconds")
    uplink = float(getattr(o, "uplink_kbps", DEFAULTS["uplink_kbps"]) or 0.0)
    if uplink < 0:
        raise AgentloadError("--uplink-kbps: must be 0 (not shaped) or more kbit/s")
    max_retries = int(getattr(o, "max_retries", DEFAULTS["max_retries"]))
    if max_retries < 0:
        raise AgentloadError("--max-retries: must be 0 (no retries) or more")
    host = environment.host or getattr(o, "host", None) or ""
    if host:
        u = urlsplit(host)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise AgentloadError(
                f"--host: {host!r} is not an http(s) URL (e.g. http://127.0.0.1:8000 for the "
                "mock, https://api.openai.com for OpenAI)"
            )
        if not is_loopback(host) and not os.environ.get(API_KEY_ENV):
            raise AgentloadError(
                f"--host {u.hostname} is not the local mock and {API_KEY_ENV} is not set "
                f"(export {API_KEY_ENV}=... or point --host at the mock)"
            )
    on_429 = getattr(o, "on_429", DEFAULTS["on_429"])
    if on_429 not in ON_429:
        raise AgentloadError(f"--on-429: {on_429!r} is not one of {', '.join(ON_429)}")
    max_429 = int(getattr(o, "max_429_retries", DEFAULTS["max_429_retries"]))
    if max_429 < 0:
        raise AgentloadError("--max-429-retries: must be 0 or more")
    task_rate = float(getattr(o, "task_rate", DEFAULTS["task_rate"]) or 0.0)
    if task_rate < 0:
        raise AgentloadError("--task-rate: must be 0 (closed loop) or more")
    cpu_warn = float(getattr(o, "cpu_warn_percent", DEFAULTS["cpu_warn_percent"]))
    if not 0 <= cpu_warn <= 100:
        raise AgentloadError("--cpu-warn-percent: must be between 0 (never warn) and 100")
    start_jitter = float(getattr(o, "start_jitter", DEFAULTS["start_jitter"]))
    if start_jitter < 0:
        raise AgentloadError("--start-jitter: must be 0 (start at once) or more seconds")
    return RunContext(
        environment=environment,
        strategies=names,
        tasks=tasks,
        model=getattr(o, "model", DEFAULTS["model"]),
        tool_latency_scale=scale,
        tool_latency_jitter=jitter,
        resend_instructions=bool(getattr(o, "resend_instructions", False)),
        timeouts=Timeouts(
            seconds["connect_timeout"], seconds["first_token_timeout"], seconds["idle_timeout"]
        ),
        max_retries=max_retries,
        uplink_kbps=uplink,
        on_429=on_429,
        max_429_retries=max_429,
        task_rate=task_rate,
        cpu_warn_percent=cpu_warn,
        start_jitter=start_jitter,
        influx=influx_config(o),
    )


def context_of(environment: Environment) -> RunContext:
    ctx = getattr(environment, "agentload", None)
    if ctx is None:  # a worker: options arrived from the master after init
        ctx = build_context(environment)
        environment.agentload = ctx  # type: ignore[attr-defined]
    return ctx


def rebuild_context(environment: Environment) -> RunContext:
    """New settings from the (possibly just received) options, keeping the process's outputs."""
    old: RunContext | None = getattr(environment, "agentload", None)
    ctx = build_context(environment)
    if old is not None:
        ctx.out = old.out
    environment.agentload = ctx  # type: ignore[attr-defined]
    return ctx
