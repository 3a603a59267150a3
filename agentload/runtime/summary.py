"""The end-of-run summary: per-strategy Totals, merged from every worker, printed and written at the end.

Workers send what they measured since their last report with every Locust stats report and once more
at the end (runtime.final_reports); the master merges them, so the table printed at the end of a
distributed run covers every worker. With the totals go the samples (per task and per turn), so
the table, the summary JSON and the web UI's Agents tab show percentiles and intervals over every
worker's tasks, and ``--slo`` is checked on them. The summary also checks that nothing went
unrecorded: every attempt that started ended as one ok, failed or interrupted record.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import On429
from ..core.link import link_text
from ..core.records import ErrorKind, TaskRecord, TurnRecord
from ..metrics import SUMMARY_COLUMNS, ComparisonRow, Group, Totals, comparison, markdown, summed, usage_note
from ..metrics.format import with_slo
from ..metrics.sessions import SessionTracker, session_markdown, session_rows
from ..metrics.slo import Objective
from ..metrics.spread import Samples

if TYPE_CHECKING:
    from .context import RunContext
    from .cpu_watch import CpuWatch
    from .final_reports import FinalReports

REPORT_KEY = "agentload"
SAMPLES_KEY = "agentload_samples"
SESSIONS_KEY = "agentload_sessions"
ROWS_MIN_AGE_S = 2.0  # the web UI polls every few seconds: its rows are recomputed at most this often,
ROWS_CPU_SHARE = 0.1  # and no more than this share of the time (the bootstrap of a long run takes a while)


class Summary:
    """Per-strategy Totals and Samples of this process (a worker: since its last report; else
    everything), and the time the run has covered so far (for goodput)."""

    def __init__(self, objectives: tuple[Objective, ...] = ()) -> None:
        self.by_strategy: dict[str, Totals] = defaultdict(Totals)
        self.samples: dict[str, Samples] = defaultdict(Samples)
        self.sessions = SessionTracker()  # a root task and its subagents, closed where they ran
        self.objectives = objectives
        self.started: float | None = None  # monotonic: the test's start, and its stop
        self.stopped: float | None = None
        self._rows: tuple[float, list[ComparisonRow]] | None = None
        self._rows_cost_s = 0.0
        self.table_shown = False  # this run's table was printed (at a web UI's Stop)

    def add_attempt(self, strategy: str) -> None:
        self.by_strategy[strategy].add_attempt()

    def add_turn(self, record: TurnRecord, outcome: Any = None) -> None:
        self.by_strategy[record.strategy].add_turn(record)
        self.samples[record.strategy].add_turn(record)
        self.sessions.add_turn(record)

    def add_task(self, record: TaskRecord) -> None:
        self.by_strategy[record.strategy].add_task(record)
        self.samples[record.strategy].add_task(record)
        self.sessions.add_task(record)

    def take(self) -> dict[str, Any]:
        """The totals since the last take, as plain data (what a worker sends to the master)."""
        out = {name: t.as_dict() for name, t in self.by_strategy.items()}
        self.by_strategy.clear()
        return out

    def take_samples(self) -> dict[str, Any]:
        out = {name: s.as_dict() for name, s in self.samples.items()}
        self.samples.clear()
        return out

    def merge(self, data: dict[str, Any]) -> None:
        for name, d in data.items():
            self.by_strategy[name].merge(d)

    def take_sessions(self) -> dict[str, Any]:
        return self.sessions.take()

    def merge_sessions(self, data: dict[str, Any]) -> None:
        self.sessions.merge(data)

    def merge_samples(self, data: dict[str, Any]) -> None:
        for name, d in data.items():
            self.samples[name].merge(d)

    def reset(self) -> None:
        self.by_strategy.clear()
        self.samples.clear()
        self.sessions.clear()
        self.started, self.stopped, self._rows = time.monotonic(), None, None

    def test_start(self) -> None:
        self.started, self.stopped, self.table_shown = time.monotonic(), None, False

    def test_stop(self) -> None:
        """The run's time ends when its agents were told to stop (called first thing at test stop, before
        the master waits for the workers' last reports)."""
        self.stopped = time.monotonic()

    def add_dropped(self, strategy: str) -> None:
        """An open-loop session arrival that found no free agent (runtime.loop)."""
        self.by_strategy[strategy].sessions_dropped += 1

    @property
    def seconds(self) -> float | None:
        """The run's time so far (from the test's start to its stop, or to now)."""
        if self.started is None:
            return None
        return (self.stopped or time.monotonic()) - self.started

    def overall(self) -> Totals:
        """Every strategy's totals added up (the run as a whole)."""
        return summed(list(self.by_strategy.values()))

    def rows(self) -> list[ComparisonRow]:
        groups = [
            Group(name, t, samples=self.samples.get(name, Samples()), seconds=self.seconds)
            for name, t in self.by_strategy.items()
        ]
        return comparison(groups, objectives=self.objectives)

    def recent_rows(self) -> list[ComparisonRow]:
        """The rows as the web UI shows them while it polls: recomputed when ROWS_MIN_AGE_S have passed
        and the last computation took less than ROWS_CPU_SHARE of the time since."""
        now = time.monotonic()
        wait = max(ROWS_MIN_AGE_S, self._rows_cost_s / ROWS_CPU_SHARE)
        if self._rows is None or now - self._rows[0] >= wait:
            rows = self.rows()
            self._rows_cost_s = time.monotonic() - now
            self._rows = (now, rows)
        return self._rows[1]

    def table(self, rows: list[ComparisonRow] | None = None) -> str:
        return markdown(
            self.rows() if rows is None else rows, with_slo(SUMMARY_COLUMNS, bool(self.objectives))
        )


def install(ctx: RunContext, cpu: CpuWatch, finals: FinalReports) -> Summary:
    """The summary of this run: on the agents' events, the reports and the merge; at the end the table,
    the checks and the summary JSON (which has every process's CPU from ``cpu`` and the workers that
    sent no final report from ``finals``)."""
    summary = Summary(ctx.settings.objectives)
    ev = ctx.events
    ev.attempt.add_listener(summary.add_attempt)
    ev.turn.add_listener(summary.add_turn)
    ev.task.add_listener(summary.add_task)

    def report(data: dict[str, Any]) -> None:
        data[REPORT_KEY] = summary.take()
        data[SAMPLES_KEY] = summary.take_samples()
        data[SESSIONS_KEY] = summary.take_sessions()

    ev.report.add_listener(report)

    def test_start(**_kw: Any) -> None:
        summary.objectives = ctx.settings.objectives  # (rebuilt at test start: the web UI may change them)
        summary.test_start()

    ctx.environment.events.test_start.add_listener(test_start)  # (its stop: runtime.plugin, first thing)

    def merge(worker: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            summary.merge(data[REPORT_KEY])
        if SAMPLES_KEY in data:
            summary.merge_samples(data[SAMPLES_KEY])
        if SESSIONS_KEY in data:
            summary.merge_sessions(data[SESSIONS_KEY])

    ev.merge.add_listener(merge)
    if ctx.role.reports:
        ev.finish.add_listener(lambda: _finish(ctx, summary, cpu, finals))
        if ctx.environment.web_ui is not None:  # the web UI's Stop ends a run, not the process
            ev.run_stopped.add_listener(lambda: _show_table(ctx, summary, summary.rows()))
    return summary


def _show_table(ctx: RunContext, summary: Summary, rows: list[ComparisonRow]) -> None:
    """The comparison table, once per run: at its stop in the web UI, else at the end."""
    if not summary.by_strategy or summary.table_shown:
        return
    profiles = ", ".join(ctx.settings.profile_names)
    ctx.say(
        "\nagentload: per-strategy comparison (per completed task; bytes are exact wire bytes; "
        f"client profile: {profiles})\n"
    )
    ctx.say(summary.table(rows))
    if note := usage_note(rows):
        ctx.say(f"agentload: {note}")
    if _sessions_shown(ctx, summary):
        ctx.say("\nagentload: per session (a root task and its subagents; bytes are all of theirs)\n")
        ctx.say(session_markdown(session_rows(summary.sessions.by_strategy)))
    summary.table_shown = True


def _finish(ctx: RunContext, summary: Summary, cpu: CpuWatch, finals: FinalReports) -> None:
    rows = summary.rows()
    _show_table(ctx, summary, rows)
    _settle_exit_code_for_429s(ctx, summary)
    _check_objectives(ctx, rows)
    tot = summary.overall()
    if tot.sessions_dropped:
        ctx.say(
            f"agentload: {tot.sessions_dropped} session arrivals found no free agent and were dropped "
            "(give more agents with -u: it caps the sessions that run at once)"
        )
    unaccounted = tot.turns_started - tot.turns_ok - tot.turns_failed - tot.turns_interrupted
    if unaccounted:
        ctx.say(f"agentload: {unaccounted} turn attempts started but never recorded")
        ctx.exit_with(1)
    path = ctx.settings.options.summary_json
    if path:
        doc = {
            "rows": [r.as_dict() for r in rows],
            "seconds": summary.seconds,
            "loop": ctx.settings.loop.as_dict(),
            "client_profiles": ctx.settings.profile_names,
            "link": link_text(ctx.settings.link),  # the agents' --link ("" for none)
            "slo": [str(o) for o in summary.objectives],
            "sessions": [r.as_dict() for r in session_rows(summary.sessions.by_strategy)],
            "turns": {
                "started": tot.turns_started,
                "ok": tot.turns_ok,
                "failed": tot.turns_failed,
                "interrupted": tot.turns_interrupted,
            },
            "workers": cpu.every_process(ctx.worker_id, ctx.role),
            "missing_workers": list(finals.missing),
        }
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps(doc, indent=2))
        except OSError as e:
            print(f"agentload: --summary-json {path}: cannot write it ({e.strerror or e})", file=sys.stderr)
            ctx.exit_with(2)


def _sessions_shown(ctx: RunContext, summary: Summary) -> bool:
    """The session table is for runs where a session is more than a task (subagents, or an engineer's
    several agents); a plain run's output stays as it was."""
    by = summary.sessions.by_strategy
    return bool(by) and (summary.sessions.spawned or ctx.settings.options.agents_per_user > 1)


def _settle_exit_code_for_429s(ctx: RunContext, summary: Summary) -> None:
    """Under --on-429 honor/retry a 429 that was waited out is expected, not a failed run: when every
    failure Locust counted is such a 429 and every task completed, the exit code is 0."""
    runner = ctx.environment.runner
    tot = summary.overall()
    limited = tot.failures.get(ErrorKind.RATE_LIMITED, 0)
    on_429 = ctx.settings.options.on_rate_limit
    if on_429 == On429.FAIL or not limited or runner is None:
        return
    other = sum(tot.failures.values()) - limited
    only_429 = all(ErrorKind.RATE_LIMITED in str(e.error) for e in runner.errors.values())
    ctx.say(
        f"agentload: {limited} rate-limited attempts waited out (--on-429 {on_429}); "
        f"{other} other failed turns, {tot.tasks_failed} failed tasks"
    )
    nothing_else = ctx.environment.process_exit_code is None  # no other finding set it: Locust's 1 becomes 0
    if other == 0 and tot.tasks_failed == 0 and only_429 and not runner.exceptions and nothing_else:
        ctx.environment.process_exit_code = 0


def _check_objectives(ctx: RunContext, rows: list[ComparisonRow]) -> None:
    """--slo: one line per strategy, and exit code 1 when any objective failed (the CI gate)."""
    if not ctx.settings.objectives:
        return
    failed = False
    for r in rows:
        marks = ", ".join(
            f"{v.metric} {'-' if v.value is None else f'{v.value:.4g}'} {'<=' if v.met else '>'} {v.limit:g}"
            for v in r.slo or ()
        )
        good = "-" if r.goodput_tasks_per_s is None else f"{r.goodput_tasks_per_s:.3f} tasks/s"
        ctx.say(f"agentload: SLO {r.label}: {'met' if r.slo_met else 'FAILED'} ({marks}); goodput {good}")
        failed = failed or not r.slo_met
    if failed:
        ctx.exit_with(1)
