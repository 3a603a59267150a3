"""agentload inside Locust: its options on Locust's parser, and at init a run context with its components.

Importing this module (the packaged locustfile does) adds two things to Locust: agentload's options
(runtime.options, influx.config) and the init listener that builds the run context and lets each
component install its own listeners, as Locust's own stats do. Which process does what:

- a standalone run or a worker runs agents, and writes records and InfluxDB points of its own;
- the master writes only run-level points, merges the workers' figures, collects their final reports
  (runtime.final_reports) and prints the comparison and the InfluxDB write counts at the end.
"""

from __future__ import annotations

import gc
import logging
import secrets
import time
from typing import Any

from locust import events
from locust.env import Environment

from ..core.errors import AgentloadError, stop_at_start
from ..core.protocol import API_KEY_ENV
from ..influx.config import add_influx_options
from . import (
    cpu_watch,
    fatal,
    final_reports,
    influx_output,
    locust_stats,
    loop,
    records_file,
    stopping,
    summary,
    web_ui,
)
from .context import RunContext, attach, context_of
from .options import RunSettings, add_run_options, check_output_path, check_user_count, request_headers
from .preflight import check_host
from .role import Role

log = logging.getLogger("agentload")
WEB_HOST_DEFAULT = "127.0.0.1"


@events.init_command_line_parser.add_listener
def _on_parser(parser: Any) -> None:
    add_run_options(parser)
    add_influx_options(parser)
    # Locust binds its web UI (which can start and stop load) to every interface by default;
    # agentload binds it to loopback unless told otherwise (--web-host '*', ideally with --web-login).
    # A worker that dies mid-run takes its agents with it; with rebalancing the master moves them onto
    # the live workers within seconds (Locust's own --enable-rebalancing, on by default here).
    parser.set_defaults(web_host=WEB_HOST_DEFAULT, enable_rebalancing=True)


@events.init.add_listener
def _on_init(environment: Environment, runner: Any = None, **_kw: Any) -> None:
    try:
        settings = RunSettings.build(environment.parsed_options, environment.host or "")
    except AgentloadError as e:
        stop_at_start(str(e))
        return
    ctx = attach(environment, settings)
    # the components, each installing its own listeners; their order is the order of the end's lines
    summary.install(ctx)
    records_file.install(ctx)
    locust_stats.install(ctx)
    cpu_watch.install(ctx)
    influx_output.install(ctx)
    final_reports.install(ctx)
    fatal.install(ctx)
    web_ui.install(ctx)
    loop.install(ctx)
    stopping.install(ctx)
    _connect_reports(ctx)
    try:
        assert ctx.influx is not None
        ctx.influx.configure(environment.parsed_options)
        if ctx.role != Role.WORKER:
            _check_outputs(ctx)
        _check_users(ctx)
        _preflight(ctx)
        if ctx.role != Role.WORKER:
            ctx.influx.open()
        if ctx.role == Role.LOCAL:
            records_file.open_for(ctx)
    except AgentloadError as e:
        stop_at_start(str(e))
    wanted = set(settings.strategy_names)
    selected = [
        u for u in environment.user_classes if getattr(getattr(u, "strategy", None), "name", None) in wanted
    ]
    if selected and ctx.role != Role.WORKER:  # a worker keeps every class: the master picks
        environment.user_classes[:] = selected


def _check_outputs(ctx: RunContext) -> None:
    """The files the run will write can be written: checked before any load, not after it."""
    o = ctx.settings.options
    for flag, path in (("--records", o.records), ("--summary-json", o.summary_json)):
        if path:
            check_output_path(flag, path)


def _starts_now(ctx: RunContext) -> bool:
    o = ctx.environment.parsed_options
    return bool(getattr(o, "headless", False) or getattr(o, "autostart", False))


def _check_users(ctx: RunContext) -> None:
    env = ctx.environment
    if ctx.role == Role.WORKER or env.shape_class is not None or not _starts_now(ctx):
        return
    users = getattr(env.parsed_options, "num_users", None)
    if users is not None:
        check_user_count(int(users), ctx.settings)


def _preflight(ctx: RunContext) -> None:
    """Before a run that starts at once (headless, --autostart): does --host answer and take the key,
    and does InfluxDB take the token (runtime.preflight)."""
    env = ctx.environment
    if not env.host or not _starts_now(ctx) or ctx.role == Role.WORKER or ctx.settings.options.no_preflight:
        return
    check_host(env.host, request_headers(), ctx.settings.timeouts.connect_s, API_KEY_ENV)
    if ctx.influx is not None and ctx.influx.config is not None:
        ctx.influx.config.target.check()


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


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kw: Any) -> None:
    """Workers get the master's options only now (and the web UI may have changed them): rebuild the
    settings; what was measured stays."""
    ctx = context_of(environment)
    runner = environment.runner
    try:
        ctx.settings = RunSettings.build(environment.parsed_options, environment.host or "")
        assert ctx.influx is not None
        ctx.influx.configure(environment.parsed_options)
        records_file.open_for(ctx)
    except AgentloadError as e:
        log.error("agentload: %s", e)
        if runner is not None:
            runner.quit()
        return
    options = environment.parsed_options
    assert options is not None
    if ctx.role != Role.WORKER:  # the master names the run; workers receive its options
        options.run_id = ctx.settings.options.run_id or new_run_id()
        loop.set_fleet(ctx)
    ctx.run_id = options.run_id
    if ctx.role.runs_agents:
        # Everything alive now (modules, Locust, the tasks) is left out of every later collection: a
        # collection's pause lands in whatever TTFT is being timed (README, Performance).
        gc.freeze()
        cpu_watch.start_for(ctx)
    ctx.influx.test_start()


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kw: Any) -> None:
    """This process's agents have stopped (every cut-off attempt recorded): flush; the master also
    collects the workers' last figures before the run's end is written."""
    ctx = context_of(environment)
    if ctx.summary is not None:
        ctx.summary.test_stop()  # (the run's time ends now, not when the workers' last reports are in)
    if ctx.role.runs_agents:
        ctx.events.agents_stopped.fire()
    if ctx.role == Role.MASTER and ctx.finals is not None:
        ctx.finals.collect()
    if ctx.role.reports:
        ctx.events.run_stopped.fire()


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
