"""agentload inside Locust: the event listeners that wire the run context to Locust's lifecycle.

Which process does what:
- a standalone run or a worker runs agents, and writes records and InfluxDB points of its own;
- the master writes only run-level points, merges the workers' summaries, collects their final
  reports (agentload.run_end) and prints the comparison and the InfluxDB write counts at the end.
"""

from __future__ import annotations

import gc
import json
import logging
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from . import run_end
from .errors import AgentloadError
from .influx.schema import PointTags
from .influx.sink import InfluxSink
from .influx.writer import PointWriter
from .options import API_KEY_ENV, add_options
from .preflight import check_host
from .probe_shape import open_connections
from .records import ErrorKind, RecordsWriter
from .run_context import RunContext, build_context, context_of, rebuild_context

log = logging.getLogger("agentload")
MASTER_WORKER_ID = "master"
WEB_HOST_DEFAULT = "127.0.0.1"
FINAL_REPORT_MARGIN_S = 15.0


def _fail(message: str) -> None:
    print(f"agentload: {message}", file=sys.stderr)
    raise SystemExit(2)


def _worker_id(runner: Any) -> str:
    """Unique per process: Locust's client id (host name + random), or "master"."""
    if isinstance(runner, MasterRunner):
        return MASTER_WORKER_ID
    return str(getattr(runner, "client_id", "local")).replace("/", "_")


def _records_path(path: str, runner: Any) -> Path:
    p = Path(path)
    if isinstance(runner, WorkerRunner):
        p = p.with_name(f"{p.stem}.{_worker_id(runner)}{p.suffix}")
    return p


def _open_records(ctx: RunContext, runner: Any) -> None:
    path = getattr(ctx.environment.parsed_options, "records", "")
    if path and ctx.out.records is None and not isinstance(runner, MasterRunner):
        p = _records_path(path, runner)
        p.parent.mkdir(parents=True, exist_ok=True)
        ctx.out.records = RecordsWriter(p.open("w", encoding="utf-8"))


def _open_influx(ctx: RunContext, runner: Any) -> None:
    if ctx.influx is None or ctx.out.influx is not None:
        return
    cfg = ctx.influx
    writer = PointWriter(cfg.target.sender(), cfg.writer).start()
    ctx.out.influx = InfluxSink(
        writer,
        PointTags(run_id="", worker=_worker_id(runner), host=""),
        cfg.interval_s,
        active_agents=lambda: runner.user_count,
        cpu_percent=lambda: runner.current_cpu_usage,
    )
    log.info("agentload: writing points to %r as worker %s", cfg.target, _worker_id(runner))


def _target_host(environment: Environment) -> str:
    u = urlsplit(environment.host or "")
    return f"{u.hostname}:{u.port}" if u.port else (u.hostname or "")


def _influx_snapshot(ctx: RunContext) -> dict[str, int] | None:
    sink = ctx.out.influx
    if sink is None:
        return None
    return {**sink.writer.counts.as_dict(), "pending": sink.writer.pending}


@events.init_command_line_parser.add_listener
def _on_parser(parser: Any) -> None:
    add_options(parser)
    # Locust binds its web UI (which can start and stop load) to every interface by default;
    # agentload binds it to loopback unless told otherwise (--web-host '*', ideally with --web-login).
    parser.set_defaults(web_host=WEB_HOST_DEFAULT)


@events.init.add_listener
def _on_init(environment: Environment, runner: Any = None, **_kw: Any) -> None:
    try:
        ctx = build_context(environment)
    except AgentloadError as e:
        _fail(str(e))
        return
    environment.agentload = ctx  # type: ignore[attr-defined]
    o = environment.parsed_options
    ctx.out.user_run_id = getattr(o, "run_id", "") or ""
    starts_now = getattr(o, "headless", False) or getattr(o, "autostart", False)
    if (
        environment.host
        and starts_now
        and not isinstance(runner, WorkerRunner)
        and not getattr(o, "no_preflight", False)
    ):
        try:
            check_host(environment.host, ctx.headers(), ctx.timeouts.connect_s, API_KEY_ENV)
            if ctx.influx is not None:
                ctx.influx.target.check()
        except AgentloadError as e:
            _fail(str(e))
    wanted = set(ctx.strategies)
    selected = [u for u in environment.user_classes if getattr(u, "strategy_name", None) in wanted]
    if selected:
        environment.user_classes[:] = selected

    # report_to_master and worker_report carry no environment: these closures bind this process's one.
    def report(client_id: str, data: dict[str, Any]) -> None:
        c = context_of(environment)
        data["agentload"] = c.out.summary.take()
        c.out.windows.sample_connections(
            _worker_id(environment.runner), int(time.time()), open_connections(environment)
        )
        data["agentload_windows"] = c.out.windows.take()
        data["agentload_cpu"] = c.out.cpu.totals()
        snap = _influx_snapshot(c)
        if snap is not None:
            data["agentload_influx"] = snap

    def merge(client_id: str, data: dict[str, Any]) -> None:
        out = context_of(environment).out
        if "agentload" in data:
            out.summary.merge(data["agentload"])
        if "agentload_influx" in data:
            out.worker_influx[client_id] = data["agentload_influx"]
        if "agentload_windows" in data:
            out.windows.merge(data["agentload_windows"])
        if "agentload_cpu" in data:
            out.cpu.merge(client_id, data["agentload_cpu"])

    def final_report() -> dict[str, Any]:
        data: dict[str, Any] = {}
        report("", data)
        return data

    def timeout() -> float:
        flush = context_of(environment).flush_timeout_s
        return (environment.stop_timeout or 0) + flush + FINAL_REPORT_MARGIN_S

    def missing(ids: list[str]) -> None:
        context_of(environment).out.missing_workers.extend(ids)

    if environment.web_ui is not None:
        from .web_tab import install

        install(environment, lambda: context_of(environment).out.summary)
    if isinstance(runner, WorkerRunner):
        environment.events.report_to_master.add_listener(report)
        run_end.install_worker(runner, final_report)
    elif isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(merge)
        environment.agentload_collect = run_end.install_master(  # type: ignore[attr-defined]
            runner, merge, missing, timeout
        )
        _open_influx(ctx, runner)
    else:
        _open_records(ctx, runner)
        _open_influx(ctx, runner)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kw: Any) -> None:
    """Workers get the master's options only now: rebuild the settings, keep what was measured."""
    runner = environment.runner
    try:
        ctx = rebuild_context(environment)
    except AgentloadError as e:
        log.error("agentload: %s", e)
        if runner is not None:
            runner.quit()
        return
    if not isinstance(runner, WorkerRunner):  # the master names the run; workers receive its options
        run_id = ctx.out.user_run_id or time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        environment.parsed_options.run_id = run_id
    _open_records(ctx, runner)
    _open_influx(ctx, runner)
    if not isinstance(runner, MasterRunner):
        # Everything alive now (modules, Locust, the tasks) is left out of every later collection: a
        # full collection of a 1000-agent worker paused all its agents for ~90 ms before, ~25 ms after,
        # and such a pause lands in whatever TTFT is being timed (bench/generator.py).
        gc.freeze()
        ctx.out.cpu.start(lambda: context_of(environment).cpu_warn_percent, lambda: _worker_id(runner))
    sink = ctx.out.influx
    if sink is None:
        return
    sink.tags = PointTags(
        run_id=environment.parsed_options.run_id, worker=_worker_id(runner), host=_target_host(environment)
    )
    if isinstance(runner, MasterRunner):
        sink.run_event("start", {"workers": runner.worker_count, "strategies": ",".join(ctx.strategies)})
    else:
        if not isinstance(runner, WorkerRunner):
            sink.run_event("start", {"workers": 0, "strategies": ",".join(ctx.strategies)})
        sink.start_throughput()


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kw: Any) -> None:
    """Agents have stopped: flush this process's points; the master also collects the workers' last."""
    ctx = context_of(environment)
    runner = environment.runner
    collect = getattr(environment, "agentload_collect", None)
    ctx.out.cpu.stop()
    if collect is not None:
        collect()
    sink = ctx.out.influx
    if sink is None:
        return
    if not isinstance(runner, MasterRunner):
        sink.stop_throughput()
    if not isinstance(runner, WorkerRunner):
        tot = ctx.out.summary.overall()
        sink.run_event(
            "end",
            {
                "tasks_ok": tot.tasks_ok,
                "tasks_failed": tot.tasks_failed,
                "turns_ok": tot.turns_ok,
                "turns_failed": tot.turns_failed,
                "missing_workers": len(ctx.out.missing_workers),
            },
        )
    if not sink.flush(ctx.flush_timeout_s):
        log.error(
            "agentload: %d InfluxDB points still unsent after --influx-flush-timeout", sink.writer.pending
        )


def _settle_exit_code_for_429s(environment: Environment, ctx: RunContext) -> None:
    """Under --on-429 honor/retry a 429 that was waited out is expected, not a failed run: when every
    failure Locust counted is such a 429 and every task completed, the exit code is 0."""
    runner = environment.runner
    tot = ctx.out.summary.overall()
    limited = tot.failures.get(ErrorKind.RATE_LIMITED, 0)
    if ctx.on_429 == "fail" or not limited or runner is None:
        return
    other = sum(tot.failures.values()) - limited
    tasks_failed = tot.tasks_failed
    only_429 = all(ErrorKind.RATE_LIMITED in str(e.error) for e in runner.errors.values())
    print(
        f"agentload: {limited} rate-limited attempts waited out (--on-429 {ctx.on_429}); "
        f"{other} other failed turns, {tasks_failed} failed tasks",
        flush=True,
    )
    if other == 0 and tasks_failed == 0 and only_429 and not runner.exceptions:
        environment.process_exit_code = 0


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kw: Any) -> None:
    ctx = getattr(environment, "agentload", None)
    if ctx is None:
        return
    out = ctx.out
    if out.records:
        out.records.close()
    own = out.influx.close(ctx.flush_timeout_s) if out.influx else None
    if isinstance(environment.runner, WorkerRunner):
        if own is not None and own.dropped:
            log.error("agentload: InfluxDB points of this worker: %s", own.line())
            environment.process_exit_code = 1
        return
    if out.summary.by_strategy:
        print(
            "\nagentload: per-strategy comparison (per completed task; bytes are exact wire bytes)\n",
            flush=True,
        )
        print(out.summary.table(), flush=True)
    _settle_exit_code_for_429s(environment, ctx)
    own_id = None if isinstance(environment.runner, MasterRunner) else _worker_id(environment.runner)
    cpu_line = out.cpu.report(own_id, ctx.cpu_warn_percent)
    if cpu_line:
        print(cpu_line, flush=True)
    if out.probe is not None and out.probe.results:
        folder = out.probe.write()
        print(f"\nagentload probe ({folder}/probe.md, probe.json, probe.svg)\n", flush=True)
        print(out.probe.summary(), flush=True)
    if ctx.influx is not None:
        total = out.influx_totals(own)
        processes = 1 + len(out.worker_influx)
        print(f"\nagentload: InfluxDB points: {total.line()} ({processes} processes)", flush=True)
        if total.dropped or out.missing_workers:
            if out.missing_workers:
                print(
                    f"agentload: {len(out.missing_workers)} worker(s) sent no final report; "
                    "their last points are unaccounted for",
                    flush=True,
                )
            environment.process_exit_code = 1
    tot = out.summary.overall()
    unaccounted = tot.turns_started - tot.turns_ok - tot.turns_failed - tot.turns_interrupted
    if unaccounted:
        print(f"agentload: {unaccounted} turn attempts started but never recorded", flush=True)
        environment.process_exit_code = 1
    path = getattr(environment.parsed_options, "summary_json", "")
    if path:
        workers = dict(out.cpu.workers)
        if own_id is not None:
            workers[own_id] = out.cpu.totals()
        doc = {
            "rows": out.summary.rows(),
            "turns": {
                "started": tot.turns_started,
                "ok": tot.turns_ok,
                "failed": tot.turns_failed,
                "interrupted": tot.turns_interrupted,
            },
            "workers": workers,
            "missing_workers": list(out.missing_workers),
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(doc, indent=2))
