"""One way to stop: SIGINT, SIGTERM, the web UI's Stop and --run-time all end a run the same way.

Locust's shutdown fires ``quitting`` before it stops the runner, so on a signal the agents would still
be running while the outputs close. Here ``quitting`` first stops the runner if it still runs: the
agents stop, each records its cut-off attempt as interrupted, test_stop flushes the records and the
InfluxDB points and the master collects its workers' final reports, exactly as at the end of
--run-time. Only then do the components finish (the table, the summary, closing the files). A worker
stopped on its own (a signal to it, not its master's stop) sends its final report unasked.

A second signal while that runs means "now": the records file is flushed and closed, one line says
what was cut short, and the process exits at once (130), without a traceback. (Locust itself may run
its shutdown twice for one signal; only a second signal counts.)
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from locust.runners import STATE_INIT, STATE_STOPPED

from .role import Role

if TYPE_CHECKING:
    from .context import RunContext
    from .final_reports import FinalReports
    from .records_file import RecordsFile

log = logging.getLogger("agentload")
FORCED_EXIT = 130


class Stopping:
    """The run's end on ``quitting``; a worker stopped on its own sends ``finals``; a quick exit closes
    ``records``."""

    def __init__(self, ctx: RunContext, finals: FinalReports, records: RecordsFile) -> None:
        self.ctx = ctx
        self.finals = finals
        self.records = records
        self.quitting = False
        self.finished = gevent.event.Event()
        self.sigterms = 0

    def on_sigint(self, *_: Any) -> None:
        """Ctrl-C takes the SIGTERM path. Python would raise KeyboardInterrupt in whichever greenlet runs
        when the signal lands (often an agent's, which then ends unrecorded)."""
        os.kill(os.getpid(), signal.SIGTERM)

    def on_sigterm(self) -> None:
        """Beside Locust's own SIGTERM handler (which starts its shutdown): the second one means now."""
        self.sigterms += 1
        if self.sigterms > 1:
            self.quick_exit()

    def on_quitting(self, environment: Any = None, **_kw: Any) -> None:
        if self.quitting:
            # Locust may run its shutdown twice (its SIGTERM handler's, then its main's once the runner
            # has quit): the second waits for the first to finish the run's end
            self.finished.wait()
            return
        self.quitting = True
        try:
            self.stop_runner()
            self.ctx.events.finish.fire()
        except KeyboardInterrupt:
            self.quick_exit()
        finally:
            self.finished.set()

    def stop_runner(self) -> None:
        """The run's end as at --run-time: the agents stop and record, the outputs flush."""
        ctx = self.ctx
        runner = ctx.environment.runner
        if runner is not None and runner.state not in (STATE_INIT, STATE_STOPPED):
            runner.stop()
        finals = self.finals
        if ctx.role == Role.WORKER and not finals.sent:
            try:
                finals.send()
            except Exception as e:  # the master is gone: what this worker wrote locally stands
                log.warning("agentload: could not send the final report to the master (%s)", e)

    def quick_exit(self) -> None:
        self.records.close()
        print("agentload: stopped at once (a second signal); attempts still running were not recorded",
              file=sys.stderr, flush=True)  # fmt: skip
        os._exit(FORCED_EXIT)


def install(ctx: RunContext, finals: FinalReports, records: RecordsFile) -> Stopping:
    stopping = Stopping(ctx, finals, records)
    ctx.environment.events.quitting.add_listener(stopping.on_quitting)
    gevent.signal_handler(signal.SIGTERM, stopping.on_sigterm)
    signal.signal(signal.SIGINT, stopping.on_sigint)
    return stopping
