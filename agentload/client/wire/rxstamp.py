"""Kernel receive timestamps: when the first token reached this machine, not when an agent read it.

Why: a worker runs hundreds of agents as greenlets on one core. When a first token arrives, its
agent may wait behind others before it runs (a few ms at 1,000 paced agents, more near saturation),
and a TTFT taken then measures the generator's queue, not the server. Linux stamps every packet as it
arrives (``SO_TIMESTAMPNS``), and a read with ``recvmsg`` returns the stamp of the newest packet it
consumed (packets that waited unread are merged and keep the newest stamp). So the first token's time
is the stamp of the read that brought it: exact while its agent is late by less than the gap to the
next packet, otherwise late by at most that lag, never early. To keep that lag short when a burst
makes many sockets readable at once, an armed socket's reader runs first in the hub's iteration
(libev priority); bench/generator.py measures what that does to the TTFT error (docs/performance.md).
Only the reads until the first token are stamped (one ``recvmsg`` instead of a ``recv``); the
streaming reads after it are plain.
Over TLS, whose reads happen inside OpenSSL, a peek at the encrypted bytes before each read gives the
same stamp (OpenSSL reads one record at a time, so the rest stays in the kernel for the next peek).

Measured and left out: coalescing the streaming reads (a read that would wait sleeps a few tens of ms
first and takes every delta that came meanwhile) saves a paced worker's CPU, but delays each agent's
next turn by up to that window, which shows in time per task (docs/performance.md).

Where there is no stamp (not Linux; a packet the kernel did not stamp), TTFT falls back to when the
agent read the event.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import struct
import sys
import time
from typing import Any

# Linux's value where it takes asm-generic's (Python's socket module does not name it); alpha, mips,
# parisc and sparc number it otherwise, and there the agents go unstamped rather than set another option.
_GENERIC = {"x86_64", "i686", "aarch64", "arm64", "armv7l", "riscv64", "ppc64le", "ppc64", "s390x"}
SO_TIMESTAMPNS: int | None = getattr(
    socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" and platform.machine() in _GENERIC else None
)
_TIMESPEC = struct.Struct("@ll")
ANCILLARY_SIZE = 64  # room for one cmsg carrying a struct timespec
_SLACK_S = 0.0005  # reading the two clocks one after the other is not instantaneous
FIRST_TOKEN_PRIORITY = 2  # libev's highest (EV_MAXPRI): sockets waiting for a first token read first


def enable(sock: socket.socket) -> bool:
    """Asks the kernel to stamp what this socket receives; False where it cannot."""
    if SO_TIMESTAMPNS is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def from_ancillary(ancdata: list[tuple[int, int, bytes]]) -> int:
    """The receive time (Unix ns) in a ``recvmsg`` result's ancillary data, or 0 when it has none."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec: int
            nsec: int
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec
    return 0


def stamped_recv(sock: Any, size: int) -> tuple[bytes, int]:
    """One read of a gevent socket (it waits, with the socket's timeout) and the stamp of its newest
    packet (Unix ns, 0 when unknown)."""
    data, ancdata, _, _ = sock.recvmsg(size, ANCILLARY_SIZE)
    return data, from_ancillary(ancdata)


def peek_stamp(sock: Any) -> int:
    """For a TLS socket, whose reads happen inside OpenSSL: waits until encrypted bytes are there (with
    the socket's timeout) and returns the stamp of the newest packet, without consuming anything; the
    TLS read that follows takes its record from those packets."""
    while True:
        try:
            _, ancdata, _, _ = sock._sock.recvmsg(1, ANCILLARY_SIZE, socket.MSG_PEEK)
            return from_ancillary(ancdata)
        except BlockingIOError:
            sock._wait(sock._read_event, timeout_exc=TimeoutError("timed out"))


def arm(sock: Any) -> None:
    """Stamps this socket's reads from now on (until ``disarm``), forgetting any earlier stamp, and
    puts its reader ahead of the streaming ones."""
    if getattr(sock, "stamps", False):
        sock.stamp_reads = True
        sock.rx_newest_ns = 0
        _prioritize(sock, FIRST_TOKEN_PRIORITY)


def disarm(sock: Any) -> None:
    if getattr(sock, "stamp_reads", False):
        sock.stamp_reads = False
        _prioritize(sock, 0)


def _prioritize(sock: Any, priority: int) -> None:
    """Why: the stamp is exact only if the agent reads before the next packet lands on the first
    token's (the kernel merges them under the newest stamp). When many sockets turn readable in one
    hub iteration (a burst from a busy server), libev runs the watchers of higher priority first, so
    the agents waiting for a first token read theirs before the streaming agents take their turns.
    The watcher is idle here (arm is before the request, disarm after the read); where it is not, or
    the loop has no priorities (libuv), nothing changes."""
    watcher = getattr(sock, "_read_event", None)
    if watcher is not None and not watcher.active:
        with contextlib.suppress(AttributeError, ValueError):
            watcher.priority = priority


def arrival(sock: Any, t_read: float, t_start: float) -> float | None:
    """The ``perf_counter`` time at which the newest packet of the socket's last read arrived; None
    when unstamped, or when the stamp is not between ``t_start`` (the request) and ``t_read`` (when
    the event was read): a wall-clock step or a stale stamp."""
    ns = getattr(sock, "rx_newest_ns", 0)
    if not ns:
        return None
    age_s = (time.time_ns() - ns) / 1e9
    t = time.perf_counter() - age_s
    if t_start - _SLACK_S <= t <= t_read + _SLACK_S:
        return min(max(t, t_start), t_read)
    return None
