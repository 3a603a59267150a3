"""The generator's own CPU, watched: past --cpu-warn-percent its timings start to include queueing.

A worker's greenlets share one core. While it has spare CPU, a token that arrives is read at once and
TTFT is the server's; once it is busy, the token waits for the greenlets ahead of it and TTFT grows
with the generator's load, not the server's (bench/generator.py measures where: see README). Locust
warns at 90 %; agentload warns at 70 % by default, names the worker, and the end of the run says for
how long each worker was over, so a user knows which figures to distrust.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import psutil

log = logging.getLogger("agentload")


SAMPLE_S = 2.0  # Locust's own monitor samples every 10 s and its first sample is always 0


@dataclass
class CpuWatch:
    """Samples of one process's CPU while its agents run, and on the master, every worker's totals."""

    interval_s: float = SAMPLE_S
    over_samples: int = 0
    samples: int = 0
    peak: float = 0.0
    warned: bool = False
    workers: dict[str, dict[str, float]] = field(default_factory=dict)  # master: worker -> totals
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
        return {"over_s": self.over_samples * self.interval_s, "peak": self.peak}

    def merge(self, worker: str, totals: dict[str, Any]) -> None:
        self.workers[worker] = {"over_s": float(totals["over_s"]), "peak": float(totals["peak"])}

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
