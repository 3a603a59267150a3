"""Locust's own statistics of an agentload run: each turn, its TTFT and each task as entries.

In Locust's stats (web UI, CSV, HTML report) the request type is the strategy and the names are
``turn``, ``ttft`` and ``task``. Only turns are requests: they alone go into Locust's aggregated
total (the web UI's RPS and failure rate); ``ttft`` and ``task`` are entries of their own beside them,
so a turn is not counted three times. A turn cut off by the run stopping is recorded (every attempt
that started is accounted for) but is no failure of the server: it stays out of Locust's failure table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locust.env import Environment
from locust.stats import RequestStats, StatsError

from ..client import TurnOutcome, describe_outcome
from ..core.records import ErrorKind, TaskRecord, TurnRecord
from .events import AgentloadEvents


class TurnFailure(Exception):
    """What Locust's failure table shows for a failed turn: kind, status, code, message."""


def log_apart(stats: RequestStats, method: str, name: str, ms: float, length: int, error: Any = None) -> None:
    """An entry of Locust's stats that is not a request: logged as ``log_request``/``log_error`` log
    one, but outside the aggregated total."""
    entry = stats.get(name, method)
    entry.log(round(ms), length)
    if error is not None:
        entry.log_error(error)
        key = StatsError.create_key(method, name, error)
        if key not in stats.errors:
            stats.errors[key] = StatsError(method, name, error)
        stats.errors[key].occurred()


def install(events: AgentloadEvents, environment: Environment) -> None:
    """Each turn and task of ``events`` into the Locust ``environment``'s stats."""
    fire: Callable[..., None] = environment.events.request.fire
    stats = environment.stats

    def turn(record: TurnRecord, outcome: TurnOutcome) -> None:
        rec = record
        if rec.error_kind != ErrorKind.INTERRUPTED:
            fire(
                request_type=rec.strategy,
                name="turn",
                response_time=rec.duration_ms,
                response_length=rec.bytes_received,
                exception=None if rec.ok else TurnFailure(describe_outcome(outcome)),
                context={"task": rec.task, "turn": rec.turn},
            )
        if rec.ttft_ms is not None:
            log_apart(stats, rec.strategy, "ttft", rec.ttft_ms, 0)

    def task(record: TaskRecord) -> None:
        rec = record
        if rec.error_kind != ErrorKind.INTERRUPTED:
            error = None if rec.ok else TurnFailure(f"task failed: {rec.error_kind}")
            log_apart(stats, rec.strategy, "task", rec.duration_ms, rec.bytes_received, error)

    events.turn.add_listener(turn)
    events.task.add_listener(task)
