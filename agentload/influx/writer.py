"""A background batch writer that never blocks the caller and never loses a point without counting it.

``add`` appends to a bounded in-memory buffer and returns. A writer thread (a greenlet under Locust's
monkey-patching, a real thread elsewhere) sends batches; a failed batch stays at the head and is retried
with capped, jittered exponential backoff (or the server's Retry-After) until it is written, refused for
good, or the closing deadline passes. Every point ends in exactly one of: written, dropped because the
buffer was full, rejected by the server, or unsent at close; ``retried`` counts the re-sends.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields

from .senders import Sender, WriteError

log = logging.getLogger("agentload.influx")
JOIN_TIMEOUT_S = 20.0  # longer than one request's connect + read timeouts


@dataclass
class WriteCounts:
    written: int = 0
    retried: int = 0  # points sent again after a failed attempt (one point retried twice counts 2)
    dropped_full: int = 0  # the buffer was full (InfluxDB slow or down for too long)
    dropped_rejected: int = 0  # the server refused them for good (bad request, auth, no such database)
    dropped_unsent: int = 0  # still buffered when the closing deadline passed
    failed_attempts: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_full + self.dropped_rejected + self.dropped_unsent

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def merge(self, other: dict[str, int]) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + int(other.get(f.name, 0)))

    def line(self) -> str:
        detail = ""
        if self.dropped:
            detail = (
                f" (buffer full {self.dropped_full}, rejected {self.dropped_rejected}, "
                f"unsent at stop {self.dropped_unsent})"
            )
        return f"written {self.written}, retried {self.retried}, dropped {self.dropped}{detail}"


@dataclass(frozen=True)
class WriterSettings:
    batch_size: int = 5000
    flush_interval_s: float = 1.0
    max_buffer: int = 200_000
    max_backoff_s: float = 5.0
    first_backoff_s: float = 0.25


class PointWriter:
    def __init__(self, sender: Sender, settings: WriterSettings | None = None) -> None:
        self.sender = sender
        self.settings = settings or WriterSettings()
        self.counts = WriteCounts()
        self._buf: deque[str] = deque()
        self._inflight = 0
        self._cond = threading.Condition()
        self._wake = threading.Event()  # cuts a backoff sleep short when closing
        self._closing = False
        self._deadline = float("inf")
        self._failing = False
        self._abandoned = False
        self._flushing = 0  # callers waiting in flush(): send what there is without waiting
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ caller side (never blocks)
    def add(self, line: str) -> None:
        with self._cond:
            if self._closing or len(self._buf) + self._inflight >= self.settings.max_buffer:
                self.counts.dropped_full += 1
                if self.counts.dropped_full == 1:
                    log.error(
                        "InfluxDB buffer full (%d points): dropping points, counted (raise --influx-buffer "
                        "or check the server at %s)",
                        self.settings.max_buffer,
                        self.sender.target,
                    )
                return
            self._buf.append(line)
            if len(self._buf) >= self.settings.batch_size:
                self._cond.notify()

    def start(self) -> PointWriter:
        self._thread = threading.Thread(target=self._run, name="agentload-influx", daemon=True)
        self._thread.start()
        return self

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._buf) + self._inflight

    def flush(self, timeout_s: float) -> bool:
        """Wait until everything added so far is written or refused; False if time ran out first."""
        end = time.monotonic() + timeout_s
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._buf or self._inflight:
                    left = end - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.1))
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout_s: float) -> WriteCounts:
        """Flush for up to ``timeout_s``, then stop; whatever is still buffered is counted unsent."""
        self.flush(timeout_s)
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic()
            self._cond.notify_all()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT_S)  # at most one attempt in progress
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                self._abandoned = True  # stuck in a request: its batch is unsent, and it no longer counts
                self.counts.dropped_unsent += self._inflight
            self.counts.dropped_unsent += len(self._buf)
            self._buf.clear()
        self.sender.close()
        return self.counts

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        s = self.settings
        while True:
            with self._cond:
                urgent = self._closing or self._flushing
                if not self._buf or (len(self._buf) < s.batch_size and not urgent):
                    self._cond.wait(s.flush_interval_s)  # batch up: a full batch or a flush wakes us
                if self._closing and (not self._buf or time.monotonic() >= self._deadline):
                    return
                if not self._buf:
                    continue
                n = min(len(self._buf), s.batch_size)
                batch = [self._buf.popleft() for _ in range(n)]
                self._inflight = n
            try:
                written, rejected, unsent = self._send(batch)
            except Exception:  # a bug here must not silently stop the writer: count and go on
                log.exception("InfluxDB writer: unexpected error; %d points counted as rejected", len(batch))
                written, rejected, unsent = 0, len(batch), 0
            with self._cond:
                if not self._abandoned:  # close() already counted an abandoned batch as unsent
                    self.counts.written += written
                    self.counts.dropped_rejected += rejected
                    self.counts.dropped_unsent += unsent
                self._inflight = 0
                self._cond.notify_all()

    def _send(self, batch: list[str]) -> tuple[int, int, int]:
        """Send one batch until it is settled; returns how many were (written, rejected, unsent)."""
        s = self.settings
        n = len(batch)
        body = ("\n".join(batch) + "\n").encode("utf-8")
        backoff = s.first_backoff_s
        while True:
            try:
                self.sender.send(body, n)
            except WriteError as e:
                self.counts.failed_attempts += 1
                if not self._failing or not e.retryable:
                    log.warning("%s", e)
                self._failing = True
                if not e.retryable:
                    rejected = n if e.rejected is None else e.rejected
                    return n - rejected, rejected, 0
                wait = e.retry_after_s if e.retry_after_s is not None else backoff * (0.5 + random.random())
                backoff = min(backoff * 2, s.max_backoff_s)
                self._wake.wait(min(wait, s.max_backoff_s))
                if self._closing and time.monotonic() >= self._deadline:
                    return 0, 0, n
                self.counts.retried += n
                continue
            if self._failing:
                log.warning("InfluxDB at %s accepts writes again", self.sender.target)
                self._failing = False
            return n, 0, 0
