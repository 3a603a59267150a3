"""Sub-millisecond timers for the mock's event loop: a Linux timerfd armed at each next deadline.

Why: asyncio's epoll selector sleeps in whole milliseconds, rounded up (``epoll_wait`` takes ms), and
the kernel adds its timer slack, so every event the mock paces goes out up to a millisecond after its
time: most of the TTFT error a user of the mock would see. A timerfd takes an absolute
CLOCK_MONOTONIC deadline to the nanosecond with no slack; registered in the same epoll set, it wakes
the loop on time, and asyncio runs the timer it was waiting for. bench/mock_timers.py compares the
two loops (figures: docs/performance.md).

Cost: one ``timerfd_settime`` call (ctypes) per loop iteration that sleeps. Elsewhere than Linux the
loop keeps its default selector (kqueue already takes a nanosecond timeout).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import select
import selectors
import sys
import time
from typing import TYPE_CHECKING, Any

CLOCK_MONOTONIC = 1  # asyncio's loop.time() is time.monotonic(), this clock
TFD_TIMER_ABSTIME = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> Any | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return libc


# gevent's monkey-patching removes EpollSelector; a patched process (a Locust worker, a benchmark)
# may import the mock package to start the mock as a child process, never to serve in itself.
if TYPE_CHECKING:  # (the selector it is wherever it serves)
    _EPOLL = selectors.EpollSelector
else:
    _EPOLL = getattr(selectors, "EpollSelector", selectors.SelectSelector)


class PreciseEpollSelector(_EPOLL):
    """An epoll selector whose timeouts end on time: each sleep also arms a timerfd at its deadline.

    The timerfd is in the epoll set edge-triggered and outside the selector's map, so asyncio never
    sees it: its expiry only ends the wait. Edge-triggered, each expiry wakes epoll once without a
    read (the kernel signals every expiry), so it costs no syscall beyond the arming."""

    _selector: select.epoll  # (the base class's epoll object, which typeshed leaves out)

    def __init__(self, libc: Any) -> None:
        super().__init__()
        self._settime = libc.timerfd_settime
        self._tfd = libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if self._tfd < 0:
            err = ctypes.get_errno()
            super().close()
            raise OSError(err, "timerfd_create failed")
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)
        self._selector.register(self._tfd, select.EPOLLIN | select.EPOLLET)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0:
            deadline = time.monotonic_ns() + int(timeout * 1e9)
            self._spec.it_value.tv_sec, self._spec.it_value.tv_nsec = divmod(deadline, 1_000_000_000)
            self._settime(self._tfd, TFD_TIMER_ABSTIME, self._spec_ref, None)
        return super().select(timeout)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._tfd >= 0:
                os.close(self._tfd)
                self._tfd = -1


def precise_loop() -> asyncio.AbstractEventLoop:
    """A new event loop with on-time timers where the platform allows (a loop factory for
    ``asyncio.Runner``); otherwise asyncio's default loop."""
    libc = _libc()
    if libc is None or _EPOLL is not getattr(selectors, "EpollSelector", None):
        return asyncio.new_event_loop()
    try:
        return asyncio.SelectorEventLoop(PreciseEpollSelector(libc))
    except OSError:
        return asyncio.new_event_loop()
