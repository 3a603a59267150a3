"""The generator's own CPU, watched: past --cpu-warn-percent its timings start to include queueing.

A worker's greenlets share one core. While it has spare CPU, a token that arrives is read at once;
once it is busy, the token waits for the greenlets ahead of it. TTFT is taken at the kernel's receive
stamp (wire/rxstamp.py), which holds while that wait is shorter than the gap between deltas; durations,
tool timing and anything over TLS include the wait (bench/generator.py measures where: see README).
Locust warns at 90 %; agentload warns at 70 % by default, names the worker, and the end of the run says
for how long each worker was over, so a user knows which figures to distrust.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
import psutil

from .role import Role

if TYPE_CHECKING:
    from .context import RunContext

log = logging.getLogger("agentload")
REPORT_KEY = "agentload_cpu"


SAMPLE_S = 2.0  # Locust's own monitor samples every 10 s and its first sample is always 0
RSS_SAMPLES = 1800  # an hour of memory samples; older ones roll off


@dataclass
class CpuWatch:
    """Samples of one process's CPU while its agents run, and on the master, every worker's totals."""

    interval_s: float = SAMPLE_S
    over_samples: int = 0
    samples: int = 0
    peak: float = 0.0
    warned: bool = False
    workers: dict[str, dict[str, float]] = field(default_factory=dict)  # master: worker -> totals
    rss_mib: deque[float] = field(default_factory=lambda: deque(maxlen=RSS_SAMPLES))  # this process's memory
    _greenlet: Any = None

    def start(self, threshold: Callable[[], float], worker: Callable[[], str]) -> None:
        """Sample this process every ``interval_s`` until ``stop``."""
        if self._greenlet is not None:
            return
        proc = psutil.Process()
        proc.cpu_percent()  # primes psutil: the next call measures from here

        def loop() -> None:
            while True:
                gevent.sleep(self.interval_s)
                self.rss_mib.append(proc.memory_info().rss / 2**20)
                self.sample(proc.cpu_percent(), threshold(), worker())

        self._greenlet = gevent.spawn(loop)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def sample(self, cpu_percent: float, threshold: float, worker: str) -> None:
        self.samples += 1
        self.peak = max(self.peak, cpu_percent)
        if threshold <= 0 or cpu_percent <= threshold:
            return
        self.over_samples += 1
        if not self.warned:
            self.warned = True
            log.warning(
                "agentload: worker %s CPU at %.0f %% (over --cpu-warn-percent %g): its timings now "
                "include queueing in the generator; run more workers or fewer agents per worker",
                worker,
                cpu_percent,
                threshold,
            )

    def totals(self) -> dict[str, float]:
        """CPU over the threshold and peak; memory (RSS, MiB) at the first sample, a third of the way
        in, at its peak and at the last sample: a leak shows as last well above the one-third mark."""
        rss = self.rss_mib
        return {
            "over_s": self.over_samples * self.interval_s,
            "peak": self.peak,
            "rss_mib_first": rss[0] if rss else 0.0,
            "rss_mib_third": rss[len(rss) // 3] if rss else 0.0,
            "rss_mib_peak": max(rss, default=0.0),
            "rss_mib_last": rss[-1] if rss else 0.0,
        }

    def merge(self, worker: str, totals: dict[str, Any]) -> None:
        self.workers[worker] = {k: float(v) for k, v in totals.items()}

    def report(self, own_worker: str | None, threshold: float) -> str | None:
        """One line for the end of the run, or None when every process stayed under the threshold."""
        every = dict(self.workers)
        if own_worker is not None and self.samples:
            every[own_worker] = self.totals()
        over = {w: t for w, t in every.items() if t["over_s"] > 0}
        if not over:
            return None
        parts = ", ".join(
            f"{w} {t['over_s']:.0f} s (peak {t['peak']:.0f} %)" for w, t in sorted(over.items())
        )
        return (
            f"agentload: generator CPU was over {threshold:g} % on {len(over)} of {len(every)} "
            f"process(es): {parts}; timings from then include queueing in the generator"
        )

    def every_process(self, own_id: str, role: Role) -> dict[str, dict[str, float]]:
        """Every process's totals (the workers' as reported, and this one's where it ran agents)."""
        every = dict(self.workers)
        if role.runs_agents:
            every[own_id] = self.totals()
        return every


def install(ctx: RunContext, cpu: CpuWatch) -> None:
    """The watch's totals in every report and merged on the master; at the end, one line if any
    process was over --cpu-warn-percent (its sampling starts with the test: ``start_for``)."""
    ev = ctx.events
    ev.report.add_listener(lambda data: data.__setitem__(REPORT_KEY, cpu.totals()))

    def merge(worker: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            cpu.merge(worker, data[REPORT_KEY])

    ev.merge.add_listener(merge)
    ev.agents_stopped.add_listener(cpu.stop)
    if ctx.role.reports:

        def finish() -> None:
            own = None if ctx.role == Role.MASTER else ctx.worker_id
            line = cpu.report(own, ctx.settings.options.cpu_warn_percent)
            if line:
                ctx.say(line)

        ev.finish.add_listener(finish)


def start_for(ctx: RunContext, cpu: CpuWatch) -> None:
    """Sample this process while its agents run (from test start)."""
    if ctx.role.runs_agents:
        cpu.start(lambda: ctx.settings.options.cpu_warn_percent, lambda: ctx.worker_id)
