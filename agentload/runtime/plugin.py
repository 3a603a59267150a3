"""agentload inside Locust: its options on Locust's parser, and at init a run context with its components.

Importing this module (the packaged locustfile does) adds two things to Locust: agentload's options
(runtime.options, influx.config) and the init listener that builds the run context and the components,
the one place they are wired: each gets what it reads as arguments and installs its own listeners, as
Locust's own stats do (``setup_distributed_stats_event_listeners(events, stats)``). What is found
later from the Environment alone goes in its registry (runtime.registry). Which process does what:

- a standalone run or a worker runs agents, and writes records and InfluxDB points of its own;
- the master writes only run-level points, merges the workers' figures, collects their final reports
  (runtime.final_reports) and prints the comparison and the InfluxDB write counts at the end.
"""

from __future__ import annotations

import gc
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from locust import events
from locust.env import Environment

from ..core.errors import AgentloadError, stop_at_start
from ..core.paths import check_output_file
from ..core.protocol import API_KEY_ENV
from ..influx.config import add_influx_options, influx_config
from . import (
    cpu_watch,
    fatal,
    final_reports,
    influx_output,
    locust_stats,
    loop,
    records_file,
    selection,
    stopping,
    summary,
    web_ui,
)
from .context import RunContext, attach
from .cpu_watch import CpuWatch
from .final_reports import FinalReports
from .influx_output import InfluxOutput
from .options import (
    STRATEGIES_KEY,
    RunSettings,
    add_run_options,
    repeated,
    request_headers,
)
from .preflight import check_host, check_tasks
from .records_file import RecordsFile
from .registry import Key, registry_of
from .role import Role, role_of
from .summary import Summary

log = logging.getLogger("agentload")
WEB_HOST_DEFAULT = "127.0.0.1"


def _on_parser(parser: Any) -> None:
    add_run_options(parser)
    add_influx_options(parser)
    # Locust binds its web UI (which can start and stop load) to every interface by default;
    # agentload binds it to loopback unless told otherwise (--web-host '*', ideally with --web-login).
    # A worker that dies mid-run takes its agents with it; with rebalancing the master moves them onto
    # the live workers within seconds (Locust's own --enable-rebalancing, on by default here).
    parser.set_defaults(web_host=WEB_HOST_DEFAULT, enable_rebalancing=True)
    host = getattr(parser, "_option_string_actions", {}).get("--host")
    if host is not None:  # Locust's help says "a host"; for agentload it is the API's base URL
        host.help = HOST_HELP


HOST_HELP = (
    "the API's base URL, as the openai SDK's base_url: a URL with a path is the base itself "
    "(http://gw:4000/openai/v1: POST .../openai/v1/responses, the WebSocket upgrade at the same path); "
    "a bare origin gets /v1 (http://127.0.0.1:8000: POST /v1/responses)"
)


events.init_command_line_parser.add_listener(_on_parser)


@dataclass(frozen=True)
class StartCheck:
    """What the options of a run that is starting come to, checked: the settings, the user classes
    it runs (runtime.selection) and the lines to warn with. A mistake raises AgentloadError."""

    settings: RunSettings
    classes: tuple[Any, ...]
    warnings: tuple[str, ...]


def check_start(options: Any, host: str, user_classes: list[Any], worker: bool, shape: bool) -> StartCheck:
    """Every check of a run's options that needs no server: on a worker only what it rebuilds itself
    (the master checks the rest). The plugin's init calls it; so does the bad-input suite."""
    settings = RunSettings.build(options, host)
    influx_config(options)
    if worker:  # a worker keeps every class: the master picks
        return StartCheck(settings, tuple(user_classes), ())
    named = bool(getattr(options, "user_classes", None))
    chosen = selection.select(user_classes, settings.options.strategy, named)
    warnings = []
    if twice := repeated(settings.options.strategy):
        warnings.append(f"--strategy names {', '.join(twice)} more than once; each runs once")
    o = settings.options
    for flag, path in (("--records", o.records), ("--summary-json", o.summary_json)):
        if path:  # the files the run will write can be written: checked before any load, not after it
            check_output_file(flag, path)
    users: Any = getattr(options, "num_users", None)  # (checked for None in checks_users)
    # -u as Locust counts it (runtime.selection)
    checks_users = starts_now(options) and not shape and users is not None
    if checks_users and (warning := selection.check_users(int(users), chosen.classes)):
        warnings.append(warning)
    return StartCheck(settings.with_strategies(chosen.strategies), chosen.classes, tuple(warnings))


def _on_init(environment: Environment, runner: Any = None, **_kw: Any) -> None:
    options = environment.parsed_options
    worker = role_of(runner) == Role.WORKER
    try:
        checked = check_start(
            options,
            environment.host or "",
            environment.user_classes,
            worker,
            environment.shape_class is not None,
        )
    except AgentloadError as e:
        stop_at_start(str(e))
    for line in checked.warnings:
        log.warning("agentload: %s", line)
    if not worker:  # the workers get the strategies with the options
        environment.user_classes[:] = list(checked.classes)
        setattr(options, STRATEGIES_KEY, checked.settings.strategy_names)
    ctx = attach(environment, checked.settings)
    # The components, each given what it reads (the CPU watch and the final reports are made first:
    # the summary's JSON reads them). Each installs its own listeners; their order is the order of
    # the end's lines.
    cpu = cpu_watch.CpuWatch()
    finals = final_reports.FinalReports(ctx)
    run_summary = summary.install(ctx, cpu, finals)
    records = records_file.install(ctx)
    locust_stats.install(ctx.events, environment)
    cpu_watch.install(ctx, cpu)
    influx = influx_output.install(ctx, run_summary, finals)
    final_reports.install(ctx, finals)
    fatal.install(ctx)
    web_ui.install(ctx, run_summary)
    sessions = loop.install(lambda: ctx.settings.loop, environment, run_summary.add_dropped)
    stopping.install(ctx, finals, records)
    _connect_reports(ctx)
    # what is found later from the Environment alone (runtime.registry)
    found = registry_of(environment)
    found.put(loop.SESSIONS, sessions)  # the users join it
    found.put(influx_output.INFLUX, influx)  # the probe writes its steps' points with it
    found.put(LIFECYCLE, Lifecycle(ctx, run_summary, records, cpu, influx, finals))  # test start, stop
    try:
        influx.configure(options)
        _preflight(ctx, influx)
        if ctx.role != Role.WORKER:
            influx.open()
        if ctx.role == Role.LOCAL:
            records_file.open_for(ctx, records)
    except AgentloadError as e:
        stop_at_start(str(e))


events.init.add_listener(_on_init)


def _select(ctx: RunContext) -> None:
    """At a test's start on the master: the classes (the web UI may have picked others since) and the
    strategies they run (runtime.selection); the workers get the strategies with the options."""
    env = ctx.environment
    named = bool(getattr(env.parsed_options, "user_classes", None))
    chosen = selection.select(env.user_classes, ctx.settings.options.strategy, named)
    env.user_classes[:] = list(chosen.classes)
    ctx.settings = ctx.settings.with_strategies(chosen.strategies)
    setattr(env.parsed_options, STRATEGIES_KEY, chosen.names)


def starts_now(options: Any) -> bool:
    """The run starts with the process (headless, --autostart), not from the web UI's form."""
    return bool(getattr(options, "headless", False) or getattr(options, "autostart", False))


def _preflight(ctx: RunContext, influx: InfluxOutput) -> None:
    """Before a run that starts at once (headless, --autostart): does --host answer and take the key,
    and does InfluxDB take the token (runtime.preflight)."""
    env = ctx.environment
    if (
        not env.host
        or not starts_now(ctx.environment.parsed_options)
        or ctx.role == Role.WORKER
        or ctx.settings.options.no_preflight
    ):
        return
    key = ctx.settings.api_keys[0] if ctx.settings.api_keys else None  # (--api-keys: the first's)
    check_host(
        env.host, request_headers(key), ctx.settings.timeouts.connect_s, "--api-keys" if key else API_KEY_ENV
    )
    check_tasks(env.host, request_headers(key), ctx.settings.timeouts.connect_s, ctx.settings.tasks)
    if influx.config is not None:
        influx.config.target.check()


def _connect_reports(ctx: RunContext) -> None:
    """A worker's figures ride on Locust's own stats reports; the master hands each one to the
    components (report_to_master and worker_report carry no environment: these bind this one's)."""
    env = ctx.environment
    if ctx.role == Role.WORKER:
        env.events.report_to_master.add_listener(lambda client_id, data: ctx.events.report.fire(data=data))
    elif ctx.role == Role.MASTER:
        env.events.worker_report.add_listener(
            lambda client_id, data: ctx.events.merge.fire(worker=client_id, data=data)
        )


class Lifecycle:
    """A test's start and stop in this process: the settings rebuilt, the run named, the components
    started; at the stop, the outputs flushed and (on the master) the workers' last figures collected.
    Locust's listeners below find it from the Environment."""

    def __init__(
        self,
        ctx: RunContext,
        summary: Summary,
        records: RecordsFile,
        cpu: CpuWatch,
        influx: InfluxOutput,
        finals: FinalReports,
    ) -> None:
        self.ctx = ctx
        self.summary = summary
        self.records = records
        self.cpu = cpu
        self.influx = influx
        self.finals = finals

    def test_start(self) -> None:
        """Workers get the master's options only now (and the web UI may have changed them): rebuild
        the settings; what was measured stays."""
        ctx = self.ctx
        environment = ctx.environment
        runner = environment.runner
        try:
            ctx.settings = RunSettings.build(environment.parsed_options, environment.host or "")
            if ctx.role != Role.WORKER:  # (the web UI may have picked other classes since)
                _select(ctx)
            self.influx.configure(environment.parsed_options)
            records_file.open_for(ctx, self.records)
        except AgentloadError as e:
            log.error("agentload: %s", e)
            if runner is not None:
                runner.quit()
            return
        options = environment.parsed_options
        assert options is not None
        if ctx.role != Role.WORKER:  # the master names the run; workers receive its options
            options.run_id = ctx.settings.options.run_id or new_run_id()
            loop.set_fleet(environment)
        ctx.run_id = options.run_id
        if ctx.role.runs_agents:
            # Everything alive now (modules, Locust, the tasks) is left out of every later collection: a
            # collection's pause lands in whatever TTFT is being timed (README, Performance).
            gc.freeze()
            cpu_watch.start_for(ctx, self.cpu)
        self.influx.test_start()

    def test_stop(self) -> None:
        """This process's agents have stopped (every cut-off attempt recorded): flush; the master also
        collects the workers' last figures before the run's end is written."""
        ctx = self.ctx
        self.summary.test_stop()  # (the run's time ends now, not when the workers' last reports are in)
        if ctx.role.runs_agents:
            ctx.events.agents_stopped.fire()
        if ctx.role == Role.MASTER:
            self.finals.collect(self.influx.flush_timeout_s)
        if ctx.role.reports:
            ctx.events.run_stopped.fire()


LIFECYCLE = Key("test start and stop", Lifecycle)


def _on_test_start(environment: Environment, **_kw: Any) -> None:
    registry_of(environment).get(LIFECYCLE).test_start()


events.test_start.add_listener(_on_test_start)


def _on_test_stop(environment: Environment, **_kw: Any) -> None:
    registry_of(environment).get(LIFECYCLE).test_stop()


events.test_stop.add_listener(_on_test_stop)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
