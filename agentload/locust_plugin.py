"""agentload inside Locust: command-line options, the per-run context, and the event listeners.

Options go through Locust's own parser, so they work on the command line, in locust.conf, as
LOCUST_* environment variables and in the web UI, and the master hands them to its workers. The run
context hangs off Locust's Environment (``environment.agentload``): no module-level mutable state.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from .agent import STRATEGY_TABLE, AgentSettings, describe_outcome, parse_json_list
from .errors import AgentloadError
from .records import RecordsWriter, TaskRecord, TurnRecord
from .stream import TurnOutcome
from .summary import RunSummary
from .workload import Task, builtin_task_names, load_tasks

log = logging.getLogger("agentload")
API_KEY_ENV = "OPENAI_API_KEY"
DEFAULTS = {
    "strategy": "all",
    "task": "all",
    "model": "gpt-5.4",
    "tool_latency_scale": 1.0,
    "request_timeout": 120.0,
}


class TurnFailure(Exception):
    """What Locust's failure table shows for a failed turn: kind, status, code, message."""


def add_options(parser: Any) -> None:
    g = parser  # Locust accepts include_in_web_ui on its top-level parser only
    g.add_argument(
        "--strategy",
        default=DEFAULTS["strategy"],
        include_in_web_ui=True,
        help=f"continuation strategies to run, comma-separated: {', '.join(STRATEGY_TABLE)} "
        "(default: all, equal weights)",
    )
    g.add_argument(
        "--task",
        default=DEFAULTS["task"],
        include_in_web_ui=True,
        help="coding tasks, comma-separated built-in names or task files (default: all built-in)",
    )
    g.add_argument("--model", default=DEFAULTS["model"], include_in_web_ui=True, help="model name to request")
    g.add_argument(
        "--tool-latency-scale",
        type=float,
        default=DEFAULTS["tool_latency_scale"],
        include_in_web_ui=True,
        help="multiply every simulated tool latency (0 = no tool time)",
    )
    g.add_argument(
        "--resend-instructions",
        action="store_true",
        default=False,
        help="chained strategies also resend instructions and tools every turn",
    )
    g.add_argument(
        "--request-timeout",
        type=float,
        default=DEFAULTS["request_timeout"],
        help="seconds of silence on a connection before a turn fails as a timeout",
    )
    g.add_argument(
        "--records",
        default="",
        help="write every turn and task record as JSON lines to this file "
        "(workers add their id before the suffix)",
    )
    g.add_argument("--summary-json", default="", help="write the per-strategy comparison as JSON at the end")


def is_loopback(host: str) -> bool:
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class RunContext:
    """Everything an agentload run shares inside one Locust process."""

    environment: Environment
    strategies: list[str]
    tasks: list[Task]
    model: str
    tool_latency_scale: float
    resend_instructions: bool
    request_timeout: float
    summary: RunSummary = field(default_factory=RunSummary)
    records: RecordsWriter | None = None
    agent_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def settings(self, strategy: str) -> AgentSettings:
        return AgentSettings(
            strategy=STRATEGY_TABLE[strategy],
            model=self.model,
            tool_latency_scale=self.tool_latency_scale,
            resend_instructions=self.resend_instructions,
        )

    def headers(self) -> dict[str, str]:
        h = {"User-Agent": "agentload/0.1"}
        key = os.environ.get(API_KEY_ENV)
        if key:
            h["Authorization"] = f"Bearer {key}"
        return h

    # -------------------------------------------------------------------------- record sinks
    def on_turn(self, rec: TurnRecord, out: TurnOutcome) -> None:
        fire = self.environment.events.request.fire
        exc = None if rec.ok else TurnFailure(describe_outcome(out))
        fire(
            request_type=rec.strategy,
            name="turn",
            response_time=rec.duration_ms,
            response_length=rec.bytes_received,
            exception=exc,
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
        self.summary.add_turn(rec)
        if self.records:
            self.records.write(rec)

    def on_task(self, rec: TaskRecord) -> None:
        self.environment.events.request.fire(
            request_type=rec.strategy,
            name="task",
            response_time=rec.duration_ms,
            response_length=rec.bytes_received,
            exception=None if rec.ok else TurnFailure(f"task failed: {rec.error_kind}"),
            context={},
        )
        self.summary.add_task(rec)
        if self.records:
            self.records.write(rec)


def _fail(message: str) -> None:
    print(f"agentload: {message}", file=sys.stderr)
    raise SystemExit(2)


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
    timeout = float(getattr(o, "request_timeout", DEFAULTS["request_timeout"]))
    if timeout <= 0:
        raise AgentloadError("--request-timeout: must be more than 0 seconds")
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
    return RunContext(
        environment=environment,
        strategies=names,
        tasks=tasks,
        model=getattr(o, "model", DEFAULTS["model"]),
        tool_latency_scale=scale,
        resend_instructions=bool(getattr(o, "resend_instructions", False)),
        request_timeout=timeout,
    )


def context_of(environment: Environment) -> RunContext:
    ctx = getattr(environment, "agentload", None)
    if ctx is None:  # a worker: options arrived from the master after init
        ctx = build_context(environment)
        environment.agentload = ctx  # type: ignore[attr-defined]
    return ctx


def _records_path(path: str, runner: Any) -> Path:
    p = Path(path)
    if isinstance(runner, WorkerRunner):
        p = p.with_name(f"{p.stem}.{runner.client_id.replace('/', '_')}{p.suffix}")
    return p


@events.init_command_line_parser.add_listener
def _on_parser(parser: Any) -> None:
    add_options(parser)


def _open_records(ctx: RunContext, runner: Any) -> None:
    path = getattr(ctx.environment.parsed_options, "records", "")
    if path and ctx.records is None and not isinstance(runner, MasterRunner):
        p = _records_path(path, runner)
        p.parent.mkdir(parents=True, exist_ok=True)
        ctx.records = RecordsWriter(p.open("w", encoding="utf-8"))


@events.init.add_listener
def _on_init(environment: Environment, runner: Any = None, **_kw: Any) -> None:
    try:
        ctx = build_context(environment)
    except AgentloadError as e:
        _fail(str(e))
        return
    environment.agentload = ctx  # type: ignore[attr-defined]
    wanted = set(ctx.strategies)
    selected = [u for u in environment.user_classes if getattr(u, "strategy_name", None) in wanted]
    if selected:
        environment.user_classes[:] = selected

    # report_to_master and worker_report carry no environment: these closures bind this process's one.
    def report(client_id: str, data: dict[str, Any]) -> None:
        data["agentload"] = context_of(environment).summary.take()

    def merge(client_id: str, data: dict[str, Any]) -> None:
        if "agentload" in data:
            context_of(environment).summary.merge(data["agentload"])

    if environment.web_ui is not None:
        from .web_tab import install

        install(environment, lambda: context_of(environment).summary)
    if isinstance(runner, WorkerRunner):
        environment.events.report_to_master.add_listener(report)
    elif isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(merge)
    else:
        _open_records(ctx, runner)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kw: Any) -> None:
    """Workers get the master's options only now: rebuild the settings, keep what was measured."""
    old = getattr(environment, "agentload", None)
    try:
        ctx = build_context(environment)
    except AgentloadError as e:
        log.error("agentload: %s", e)
        if environment.runner is not None:
            environment.runner.quit()
        return
    if old is not None:
        ctx.summary, ctx.records, ctx.agent_ids = old.summary, old.records, old.agent_ids
    environment.agentload = ctx  # type: ignore[attr-defined]
    _open_records(ctx, environment.runner)


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kw: Any) -> None:
    ctx = getattr(environment, "agentload", None)
    if ctx is None:
        return
    if ctx.records:
        ctx.records.close()
    if isinstance(environment.runner, WorkerRunner):
        return
    if ctx.summary.by_strategy:
        print(
            "\nagentload: per-strategy comparison (per completed task; bytes are exact wire bytes)\n",
            flush=True,
        )
        print(ctx.summary.table(), flush=True)
    out = getattr(environment.parsed_options, "summary_json", "")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"rows": ctx.summary.rows()}, indent=2))
