"""InfluxDB output in a Locust run: every process that runs agents writes its own points; the master
writes only run-level points and, at the end, adds up every process's write counts (none is lost
silently: a dropped point, or a worker that never reported, makes the exit code 1)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.link import link_text
from ..influx.config import InfluxConfig, influx_config
from ..influx.schema import PointTags
from ..influx.sink import InfluxSink
from ..influx.writer import PointWriter, WriteCounts
from .registry import Key
from .role import Role

if TYPE_CHECKING:
    from .context import RunContext
    from .final_reports import FinalReports
    from .summary import Summary

log = logging.getLogger("agentload")
REPORT_KEY = "agentload_influx"


def target_host(host: str) -> str:
    u = urlsplit(host or "")
    return f"{u.hostname}:{u.port}" if u.port else (u.hostname or "")


class InfluxOutput:
    """This process's points; at a run's end, its end point (the totals from ``summary``, the workers
    missing from ``finals``) and the write counts."""

    def __init__(self, ctx: RunContext, summary: Summary, finals: FinalReports) -> None:
        self.ctx = ctx
        self.summary = summary
        self.finals = finals
        self.config: InfluxConfig | None = None
        self.sink: InfluxSink | None = None
        self.workers: dict[str, dict[str, int]] = {}  # master: each worker's latest cumulative counts
        self._end_deadline: float | None = None  # the end of a run waits --influx-flush-timeout once, in all

    @property
    def flush_timeout_s(self) -> float:
        """How long the end of a run keeps retrying buffered points (0 without InfluxDB)."""
        return self.config.flush_timeout_s if self.config else 0.0

    def configure(self, namespace: Any) -> None:
        """Read the --influx-* options (again: a worker gets the master's at test start)."""
        self.config = influx_config(namespace)

    def open(self) -> None:
        if self.config is None or self.sink is not None:
            return
        runner = self.ctx.runner
        writer = PointWriter(self.config.target.sender(), self.config.writer).start()
        self.sink = InfluxSink(
            writer,
            PointTags(run_id="", worker=self.ctx.worker_id, host=""),
            self.config.interval_s,
            active_agents=lambda: runner.user_count,
            cpu_percent=lambda: runner.current_cpu_usage,
        )
        log.info("agentload: writing points to %r as worker %s", self.config.target, self.ctx.worker_id)

    # ------------------------------------------------------------------ the run
    def test_start(self) -> None:
        ctx = self.ctx
        self._end_deadline = None
        self.open()
        if self.sink is None:
            return
        self.sink.tags = PointTags(run_id=ctx.run_id, worker=ctx.worker_id, host=target_host(ctx.host))
        strategies = ",".join(ctx.settings.strategy_names)
        link = link_text(ctx.settings.link)  # (the agents' --link: "" for none)
        if ctx.role == Role.MASTER:
            self.sink.run_event(
                "start", {"workers": ctx.runner.worker_count, "strategies": strategies, "link": link}
            )
            return
        if ctx.role == Role.LOCAL:
            self.sink.run_event("start", {"workers": 0, "strategies": strategies, "link": link})
        self.sink.start_throughput()

    def agents_stopped(self) -> None:
        if self.sink is not None:
            self.sink.stop_throughput()
            if self.ctx.role == Role.WORKER:
                self.flush()

    def run_stopped(self) -> None:
        """The master or a standalone run, with every worker's figures in: the run's end point."""
        if self.sink is None:
            return
        summary = self.summary
        tot = summary.overall()
        self.sink.run_event(
            "end",
            {
                "tasks_ok": tot.tasks_ok,
                "tasks_failed": tot.tasks_failed,
                "turns_ok": tot.turns_ok,
                "turns_failed": tot.turns_failed,
                "turns_usage_unknown": tot.turns_usage_unknown,  # ok turns whose tokens are unknown
                "missing_workers": len(self.finals.missing),
            },
        )
        if summary.objectives:
            for row in summary.rows():
                for v in row.slo or ():
                    self.sink.slo(
                        row.strategy,
                        v.metric,
                        {
                            "limit": v.limit,
                            "value": v.value,
                            "met": v.met,
                            "tasks": row.tasks,
                            "good_tasks": row.good_tasks,
                            "goodput_tasks_per_s": row.goodput_tasks_per_s,
                        },
                    )
        self.flush()

    def end_budget_s(self) -> float:
        """What is left of --influx-flush-timeout for this run's end (its clock starts at the first flush)."""
        now = time.monotonic()
        if self._end_deadline is None:
            self._end_deadline = now + self.flush_timeout_s
        return max(0.0, self._end_deadline - now)

    def flush(self) -> None:
        assert self.sink is not None
        if not self.sink.flush(self.end_budget_s()):
            log.error(
                "agentload: %d InfluxDB points still unsent after --influx-flush-timeout",
                self.sink.writer.pending,
            )

    # ------------------------------------------------------------------ reports
    def snapshot(self) -> dict[str, int] | None:
        if self.sink is None:
            return None
        return {**self.sink.writer.counts.as_dict(), "pending": self.sink.writer.pending}

    def report(self, data: dict[str, Any]) -> None:
        snap = self.snapshot()
        if snap is not None:
            data[REPORT_KEY] = snap

    def merge(self, worker: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            self.workers[worker] = data[REPORT_KEY]

    def totals(self, own: WriteCounts | None) -> WriteCounts:
        """This process's counts plus every worker's; points a worker still held count as unsent."""
        total = WriteCounts()
        if own is not None:
            total.merge(own.as_dict())
        for counts in self.workers.values():
            total.merge(counts)
            total.dropped_unsent += int(counts.get("pending", 0))
        return total

    def finish(self) -> None:
        """Close this process's writer (what is still buffered after the flush timeout counts as
        dropped); the master or a standalone run prints the run's counts, a worker its own drops."""
        ctx = self.ctx
        own = self.sink.close(self.end_budget_s()) if self.sink else None
        if ctx.role == Role.WORKER:
            if own is not None and own.dropped:
                log.error("agentload: InfluxDB points of this worker: %s", own.line())
                ctx.exit_with(1)
            return
        if self.config is None:
            return
        total = self.totals(own)
        missing = self.finals.missing
        ctx.say(f"\nagentload: InfluxDB points: {total.line()} ({1 + len(self.workers)} processes)")
        if total.dropped or missing:
            if missing:
                ctx.say(
                    f"agentload: {len(missing)} worker(s) sent no final report; their last points are unaccounted for"
                )
            ctx.exit_with(1)


INFLUX = Key("InfluxDB output", InfluxOutput)  # (the probe writes its steps' points with its sink)


def install(ctx: RunContext, summary: Summary, finals: FinalReports) -> InfluxOutput:
    """This process's InfluxDB output, on the agents' events, the reports and the run's end (it is
    configured and opened once the options are checked: runtime.plugin)."""
    out = InfluxOutput(ctx, summary, finals)
    ev = ctx.events
    if ctx.role.runs_agents:
        ev.turn.add_listener(lambda record, outcome: out.sink.turn(record) if out.sink else None)
        ev.task.add_listener(lambda record: out.sink.task(record) if out.sink else None)
    ev.report.add_listener(out.report)
    ev.merge.add_listener(out.merge)
    ev.agents_stopped.add_listener(out.agents_stopped)
    ev.run_stopped.add_listener(out.run_stopped)
    ev.finish.add_listener(out.finish)
    return out
