"""The end of a distributed run: every worker's last figures reach the master before anything is printed.

Locust's master, on a headless quit, sends ``quit`` to its workers and waits only half a second, so a
worker still stopping its agents (up to --stop-timeout) or flushing InfluxDB points would report too
late and its tail would be lost silently. Instead, when the master's test stops it asks each worker for
a final report; the worker stops its agents (which flushes its outputs through its own test_stop
listeners), answers with its last figures (every component's, through the ``report`` event), and the
master waits, bounded, for every answer. A worker that never answers is named and counted, not
ignored. A worker that is stopped on its own (a signal) sends its final report unasked.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import gevent
from locust.runners import STATE_MISSING

from ..launch.locust import FINAL_REPORT_MARGIN_S
from .role import Role

if TYPE_CHECKING:
    from .context import RunContext

log = logging.getLogger("agentload")
FINAL_REQUEST = "agentload_final_request"
FINAL_REPORT = "agentload_final_report"


class FinalReports:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.waiting: set[str] = set()
        self.missing: list[str] = []
        self.sent = False  # a worker: its final report is out

    # ------------------------------------------------------------------ master
    def receive(self, environment: Any, msg: Any, **_kw: Any) -> None:
        self.ctx.events.merge.fire(worker=msg.node_id, data=msg.data or {})
        self.waiting.discard(msg.node_id)

    def timeout_s(self, flush_s: float) -> float:
        env = self.ctx.environment
        return (env.stop_timeout or 0) + flush_s + FINAL_REPORT_MARGIN_S

    def collect(self, flush_s: float) -> None:
        """Ask every worker for its last figures and wait for them (bounded: --stop-timeout, then
        ``flush_s`` for its InfluxDB points, and a margin); name the silent ones."""
        runner = self.ctx.runner
        gone = sorted(c.id for c in runner.clients.all if c.state == STATE_MISSING)
        ids = [c.id for c in runner.clients.all if c.state != STATE_MISSING]
        self.waiting.clear()
        self.waiting.update(ids)
        for cid in ids:
            runner.send_message(FINAL_REQUEST, None, client_id=cid)
        deadline = time.monotonic() + self.timeout_s(flush_s)
        while self.waiting and time.monotonic() < deadline:
            # a worker Locust found missing meanwhile (no heartbeat) will not answer: no wait for it
            for cid in list(self.waiting):
                node = runner.clients.get(cid)
                if node is None or node.state == STATE_MISSING:
                    self.waiting.discard(cid)
                    gone.append(cid)
            gevent.sleep(0.05)
        missing = sorted({*gone, *self.waiting})
        if missing:
            log.error("agentload: no final report from %d worker(s): %s", len(missing), ", ".join(missing))
            self.missing.extend(m for m in missing if m not in self.missing)

    # ------------------------------------------------------------------ worker
    def answer(self, environment: Any, msg: Any, **_kw: Any) -> None:
        runner = self.ctx.runner
        runner.stop()  # a no-op if already stopped; otherwise stops the agents and fires test_stop here
        self.send()

    def send(self) -> None:
        data: dict[str, Any] = {}
        self.ctx.events.report.fire(data=data)
        self.ctx.runner.send_message(FINAL_REPORT, data)
        self.sent = True


def install(ctx: RunContext, finals: FinalReports) -> None:
    """The master takes the workers' final reports; a worker answers the master's request."""
    runner = ctx.runner
    if ctx.role == Role.MASTER:
        runner.register_message(FINAL_REPORT, finals.receive)
    elif ctx.role == Role.WORKER:
        runner.register_message(FINAL_REQUEST, finals.answer, concurrent=True)
