"""The end of a distributed run: every worker's last figures reach the master before anything is printed.

Locust's master, on a headless quit, sends ``quit`` to its workers and waits only half a second, so a
worker still stopping its agents (up to --stop-timeout) or flushing InfluxDB points would report too
late and its tail would be lost silently. Instead, when the master's test stops it asks each worker for
a final report; the worker stops its agents (which flushes its outputs through its own test_stop
listeners), answers with its last figures, and the master waits, bounded, for every answer. A worker
that never answers is named and counted, not ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
from locust.runners import MasterRunner, WorkerRunner

log = logging.getLogger("agentload")
FINAL_REQUEST = "agentload_final_request"
FINAL_REPORT = "agentload_final_report"


def install_master(
    runner: MasterRunner,
    on_report: Callable[[str, dict[str, Any]], None],
    on_missing: Callable[[list[str]], None],
    timeout_s: Callable[[], float],
) -> Callable[[], None]:
    """Returns ``collect``: call it when the master's test stops (agentload's test_stop listener)."""
    waiting: set[str] = set()

    def receive(environment: Any, msg: Any, **_kw: Any) -> None:
        on_report(msg.node_id, msg.data or {})
        waiting.discard(msg.node_id)

    def collect() -> None:
        ids = [c.id for c in runner.clients.all]
        waiting.clear()
        waiting.update(ids)
        for cid in ids:
            runner.send_message(FINAL_REQUEST, None, client_id=cid)
        deadline = time.monotonic() + timeout_s()
        while waiting and time.monotonic() < deadline:
            gevent.sleep(0.05)
        if waiting:
            missing = sorted(waiting)
            log.error("agentload: no final report from %d worker(s): %s", len(missing), ", ".join(missing))
            on_missing(missing)

    runner.register_message(FINAL_REPORT, receive)
    return collect


def install_worker(runner: WorkerRunner, final_report: Callable[[], dict[str, Any]]) -> None:
    def answer(environment: Any, msg: Any, **_kw: Any) -> None:
        runner.stop()  # a no-op if already stopped; otherwise stops the agents and fires test_stop here
        runner.send_message(FINAL_REPORT, final_report())

    runner.register_message(FINAL_REQUEST, answer, concurrent=True)
