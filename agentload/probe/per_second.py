"""Per-second counters of turns, merged across workers: what the rate-limit probe measures each step with.

Workers send the seconds they filled to the master with every stats report (and their final report),
so the master, which drives the probe's ramp, sees the whole fleet by wall-clock second.

Beside the turns, each process that runs agents watches its own event loop (``LoopWatch``): a loop
that wakes late could not send its agents' requests on time. While the generator is stalled, a
limiter in front of the target refills with nobody asking, its budget beyond what it can hold is
lost, and the rate the step achieves falls below the limit: the generator's shortfall, not the
target's limit. The seconds record how long each loop was stalled, so the probe can tell.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import gevent

from ..core.records import ErrorKind, TurnRecord

LIMIT_TYPES = ("requests", "tokens", "connections")
WATCH_PERIOD_S = 0.1  # how often a process's loop watcher asks to wake
# a wake-up later than this is a stall: the part beyond it counts (scheduling noise on a busy machine
# stays under it: 8 CPU-bound neighbours on 2 cores delayed a 0.1 s sleep by 140 ms at most)
STALL_GRACE_S = 0.05


@dataclass
class SecondCounts:
    attempts: int = 0
    ok: int = 0
    tokens: int = 0  # input + output of successful turns
    rl_requests: int = 0
    rl_tokens: int = 0
    rl_connections: int = 0
    rl_other: int = 0
    other_errors: int = 0
    ttft_sum_ms: float = 0.0
    ttft_n: int = 0
    # the generator's event loops, summed over the processes that run agents: seconds watched, and of
    # those the seconds stalled (woken later than STALL_GRACE_S past their time); the longest single
    # stall that ended in this second is the fleet's longest, not a sum
    watched_s: float = 0.0
    stalled_s: float = 0.0
    stall_max_s: float = 0.0

    def merge(self, d: dict[str, Any]) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), d.get(f.name, 0)
            setattr(self, f.name, max(mine, theirs) if f.name == "stall_max_s" else mine + theirs)


@dataclass
class PerSecondCounts:
    seconds: dict[int, SecondCounts] = field(default_factory=lambda: defaultdict(SecondCounts))
    # open WebSocket connections, sampled: source (worker) -> [(unix second, count)]
    connections: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))

    def add_turn(self, rec: TurnRecord) -> None:
        s = self.seconds[int(rec.started_at + rec.duration_ms / 1000.0)]
        s.attempts += 1
        if rec.ok:
            s.ok += 1
            s.tokens += (rec.input_tokens or 0) + (rec.output_tokens or 0)  # (unknown usage: none counted)
            if rec.ttft_ms is not None:
                s.ttft_sum_ms += rec.ttft_ms
                s.ttft_n += 1
        elif rec.error_kind == ErrorKind.RATE_LIMITED:
            kind = rec.error_type if rec.error_type in LIMIT_TYPES else "other"
            setattr(s, f"rl_{kind}", getattr(s, f"rl_{kind}") + 1)
        else:
            s.other_errors += 1

    def add_wake(self, woke_at: float, slept_s: float, asked_s: float) -> None:
        """A loop watcher woke at ``woke_at`` (Unix time) after ``slept_s``, having asked for ``asked_s``."""
        start = woke_at - slept_s
        for second, part in _by_second(start, woke_at):
            self.seconds[second].watched_s += part
        late = slept_s - asked_s
        if late > STALL_GRACE_S:
            for second, part in _by_second(start + asked_s + STALL_GRACE_S, woke_at):
                self.seconds[second].stalled_s += part
            s = self.seconds[int(woke_at)]
            s.stall_max_s = max(s.stall_max_s, late)

    def sample_connections(self, source: str, second: int, count: int) -> None:
        self.connections[source].append((second, count))

    def take(self) -> dict[str, Any]:
        """The filled seconds since the last take (a worker's report), emptied here."""
        data = {
            "seconds": {str(k): asdict(v) for k, v in self.seconds.items()},
            "connections": {k: list(v) for k, v in self.connections.items()},
        }
        self.seconds.clear()
        self.connections.clear()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        for k, v in data.get("seconds", {}).items():
            self.seconds[int(k)].merge(v)
        for src, samples in data.get("connections", {}).items():
            self.connections[src] += [(int(t), int(c)) for t, c in samples]

    def total(self, start: int, end: int) -> SecondCounts:
        """Sum over the whole seconds in [start, end)."""
        out = SecondCounts()
        for t in range(start, end):
            if t in self.seconds:
                out.merge(asdict(self.seconds[t]))
        return out

    def max_connections(self, start: int, end: int) -> int:
        """Fleet-wide open connections: each worker's highest sample in [start, end), summed."""
        total = 0
        for samples in self.connections.values():
            inside = [c for t, c in samples if start <= t < end]
            total += max(inside, default=0)
        return total


def _by_second(start: float, end: float) -> Iterator[tuple[int, float]]:
    """The wall-clock seconds that [start, end) overlaps, each with the length of the overlap."""
    t = start
    while t < end:
        second = math.floor(t)
        upto = min(end, second + 1.0)
        yield second, upto - t
        t = upto


class LoopWatch:
    """Watches this process's event loop for stalls: a greenlet sleeps WATCH_PERIOD_S at a time and
    records, by wall-clock second, how much later than asked it woke (``PerSecondCounts.add_wake``).
    A CPU-starved or paused process wakes it late, as it does the agents."""

    def __init__(self, seconds: PerSecondCounts, period_s: float = WATCH_PERIOD_S) -> None:
        self.seconds = seconds
        self.period_s = period_s
        self._greenlet: Any = None

    def start(self) -> LoopWatch:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)
        return self

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            gevent.sleep(self.period_s)
            self.seconds.add_wake(time.time(), time.monotonic() - t0, self.period_s)
