"""The end-of-run summary: per-strategy Totals, merged from every worker, printed and written at the end.

Workers send what they measured since their last report with every Locust stats report and once more
at the end (runtime.final_reports); the master merges them, so the table printed at the end of a
distributed run covers every worker. The summary also checks that nothing went unrecorded: every
attempt that started ended as one ok, failed or interrupted record.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import On429
from ..core.records import ErrorKind, TaskRecord, TurnRecord
from ..metrics import SUMMARY_COLUMNS, ComparisonRow, Group, Totals, comparison, markdown, summed

if TYPE_CHECKING:
    from .context import RunContext

REPORT_KEY = "agentload"


class Summary:
    """Per-strategy Totals of this process (a worker: since its last report; else everything)."""

    def __init__(self) -> None:
        self.by_strategy: dict[str, Totals] = defaultdict(Totals)

    def add_attempt(self, strategy: str) -> None:
        self.by_strategy[strategy].add_attempt()

    def add_turn(self, record: TurnRecord, outcome: Any = None) -> None:
        self.by_strategy[record.strategy].add_turn(record)

    def add_task(self, record: TaskRecord) -> None:
        self.by_strategy[record.strategy].add_task(record)

    def take(self) -> dict[str, Any]:
        """Everything since the last take, as plain data (what a worker sends to the master)."""
        out = {name: t.as_dict() for name, t in self.by_strategy.items()}
        self.by_strategy.clear()
        return out

    def merge(self, data: dict[str, Any]) -> None:
        for name, d in data.items():
            self.by_strategy[name].merge(d)

    def reset(self) -> None:
        self.by_strategy.clear()

    def overall(self) -> Totals:
        """Every strategy's totals added up (the run as a whole)."""
        return summed(list(self.by_strategy.values()))

    def rows(self) -> list[ComparisonRow]:
        return comparison([Group(name, t) for name, t in self.by_strategy.items()])

    def table(self) -> str:
        return markdown(self.rows(), SUMMARY_COLUMNS)


def install(ctx: RunContext) -> Summary:
    summary = ctx.summary = Summary()
    ev = ctx.events
    ev.attempt.add_listener(summary.add_attempt)
    ev.turn.add_listener(summary.add_turn)
    ev.task.add_listener(summary.add_task)
    ev.report.add_listener(lambda data: data.__setitem__(REPORT_KEY, summary.take()))

    def merge(worker: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            summary.merge(data[REPORT_KEY])

    ev.merge.add_listener(merge)
    if ctx.role.reports:
        ev.finish.add_listener(lambda: _finish(ctx, summary))
    return summary


def _finish(ctx: RunContext, summary: Summary) -> None:
    if summary.by_strategy:
        ctx.say("\nagentload: per-strategy comparison (per completed task; bytes are exact wire bytes)\n")
        ctx.say(summary.table())
    _settle_exit_code_for_429s(ctx, summary)
    tot = summary.overall()
    unaccounted = tot.turns_started - tot.turns_ok - tot.turns_failed - tot.turns_interrupted
    if unaccounted:
        ctx.say(f"agentload: {unaccounted} turn attempts started but never recorded")
        ctx.exit_with(1)
    path = ctx.settings.options.summary_json
    if path:
        doc = {
            "rows": [r.as_dict() for r in summary.rows()],
            "turns": {
                "started": tot.turns_started,
                "ok": tot.turns_ok,
                "failed": tot.turns_failed,
                "interrupted": tot.turns_interrupted,
            },
            "workers": ctx.cpu.every_process(ctx.worker_id, ctx.role) if ctx.cpu else {},
            "missing_workers": list(ctx.finals.missing) if ctx.finals else [],
        }
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps(doc, indent=2))
        except OSError as e:
            print(f"agentload: --summary-json {path}: cannot write it ({e.strerror or e})", file=sys.stderr)
            ctx.exit_with(2)


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
