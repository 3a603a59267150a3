"""One Locust process's InfluxDB output: turn and task points, the periodic throughput point, run events.

Agents call ``turn``/``task`` from their greenlets; both format a line and hand it to the background
writer, so an agent never waits on InfluxDB. Each point gets a timestamp unique within this process
(the worker tag is unique per process), so no two points of a run can overwrite each other in
InfluxDB, whose series key is measurement + tags + time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core.records import ErrorKind, TaskRecord, TurnRecord
from ..core.sessions import SessionLinker
from . import schema
from .writer import PointWriter, WriteCounts


class UniqueClock:
    """Wall-clock nanoseconds, strictly increasing within the process."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


@dataclass
class IntervalCounts:
    turns: int = 0
    tasks: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    errors: int = 0
    rate_limited: int = 0


class InfluxSink:
    def __init__(
        self,
        writer: PointWriter,
        tags: schema.PointTags,
        interval_s: float,
        active_agents: Callable[[], int],
        cpu_percent: Callable[[], float],
    ) -> None:
        self.writer = writer
        self.tags = tags
        self.interval_s = interval_s
        self._active_agents = active_agents
        self._cpu_percent = cpu_percent
        self._clock = UniqueClock()
        self._interval = IntervalCounts()
        self._interval_start = time.monotonic()
        self._ticker: threading.Thread | None = None
        self._stop_ticker = threading.Event()
        self._sessions = SessionLinker()  # its own: a worker writes the sessions it closes

    # ------------------------------------------------------------------ records (agent greenlets)
    def turn(self, rec: TurnRecord) -> None:
        self._sessions.add_turn(rec)
        c = self._interval
        c.turns += 1
        c.bytes_sent += rec.bytes_sent
        c.bytes_received += rec.bytes_received
        if not rec.ok:
            c.errors += 1
            if rec.error_kind == ErrorKind.RATE_LIMITED:
                c.rate_limited += 1
        self.writer.add(schema.turn_line(rec, self.tags, self._clock.now_ns()))

    def task(self, rec: TaskRecord) -> None:
        self._interval.tasks += 1
        self.writer.add(schema.task_line(rec, self.tags, self._clock.now_ns()))
        session = self._sessions.add_task(rec)
        if session is not None and session.subagents:  # a session of one task is its task point
            self.writer.add(schema.session_line(session, self.tags, self._clock.now_ns()))

    def probe_step(self, step: int, fields: dict[str, object]) -> None:
        self.writer.add(schema.probe_line(self.tags, step, fields, self._clock.now_ns()))

    def slo(self, strategy: str, objective: str, fields: dict[str, object]) -> None:
        self.writer.add(schema.slo_line(self.tags, strategy, objective, fields, self._clock.now_ns()))

    def run_event(self, event: str, fields: dict[str, object]) -> None:
        self.writer.add(schema.run_line(self.tags, event, fields, self._clock.now_ns()))

    # ------------------------------------------------------------------ throughput
    def start_throughput(self) -> None:
        """Begin a throughput series (at test start); a running one continues."""
        if self._ticker is not None and self._ticker.is_alive():
            return
        self._interval = IntervalCounts()
        self._interval_start = time.monotonic()
        self._stop_ticker.clear()
        self._ticker = threading.Thread(target=self._tick_loop, name="agentload-throughput", daemon=True)
        self._ticker.start()

    def stop_throughput(self) -> None:
        """End the series with a last, partial interval, so the sums cover every turn."""
        if self._ticker is None:
            return
        self._stop_ticker.set()
        self._ticker.join(timeout=5.0)
        self._ticker = None
        self._emit_throughput()

    def _tick_loop(self) -> None:
        while not self._stop_ticker.wait(self.interval_s):
            self._emit_throughput()

    def _emit_throughput(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._interval_start, 1e-9)
        c, self._interval, self._interval_start = self._interval, IntervalCounts(), now
        fields = {
            "interval_s": elapsed,
            "turns": c.turns,
            "tasks": c.tasks,
            "turns_per_s": c.turns / elapsed,
            "tasks_per_s": c.tasks / elapsed,
            "bytes_sent_per_s": c.bytes_sent / elapsed,
            "bytes_received_per_s": c.bytes_received / elapsed,
            "errors": c.errors,
            "rate_limited": c.rate_limited,
            "active_agents": int(self._active_agents()),
            "cpu_percent": float(self._cpu_percent()),
        }
        self.writer.add(schema.throughput_line(self.tags, fields, self._clock.now_ns()))

    # ------------------------------------------------------------------ end
    def flush(self, timeout_s: float) -> bool:
        return self.writer.flush(timeout_s)

    def close(self, timeout_s: float) -> WriteCounts:
        self.stop_throughput()
        return self.writer.close(timeout_s)
