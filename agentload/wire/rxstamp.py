"""Kernel receive timestamps: when the first token reached this machine, not when an agent read it.

Why: a worker runs hundreds of agents as greenlets on one core. When a first token arrives, its
agent may wait behind others before it runs (a few ms at 1,000 paced agents, more near saturation),
and a TTFT taken then measures the generator's queue, not the server. Linux stamps every packet as
it arrives (``SO_TIMESTAMPNS``). While an agent waits for its first token, each read is a peek of one
byte (the stamp of the oldest unread packet) and then the read itself (the stamp of the newest packet
it consumed). The first token's time is then:

- the oldest stamp, when its event needed a read of its own: the bytes before it had been read
  already, so the read starts with it (the agent may have been late: later deltas in the same read
  do not move it);
- the newest stamp, when an earlier event came in the same read: the token arrived no later than
  that (an agent later than the whole TTFT; the figure errs late, never early).

The streaming hot path after the first token is untouched (plain reads). Where there is no stamp
(TLS, whose reads happen inside OpenSSL; not Linux; a packet the kernel did not stamp), TTFT falls
back to the time the agent read the event.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import Any

# Linux's value on x86, arm and most others (asm-generic); Python's socket module does not name it.
SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_TIMESPEC = struct.Struct("@ll")
ANCILLARY_SIZE = 64  # room for one cmsg carrying a struct timespec
_SLACK_S = 0.0005  # reading the two clocks one after the other is not instantaneous


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
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec
    return 0


def stamped_recv(sock: socket.socket, size: int) -> tuple[bytes, int, int]:
    """One read, with the arrival of its oldest and its newest packet (Unix ns, 0 when unknown)."""
    _, ancdata, _, _ = sock.recvmsg(1, ANCILLARY_SIZE, socket.MSG_PEEK)  # waits for data, as recv
    oldest = from_ancillary(ancdata)
    data, ancdata, _, _ = sock.recvmsg(size, ANCILLARY_SIZE)
    return data, oldest, from_ancillary(ancdata)


def arm(sock: Any) -> None:
    """Stamps this socket's reads from now on (until ``disarm``), forgetting any earlier stamp."""
    if getattr(sock, "stamps", False):
        sock.stamp_reads = True
        sock.rx_reads = sock.rx_oldest_ns = sock.rx_newest_ns = 0


def disarm(sock: Any) -> None:
    if getattr(sock, "stamp_reads", False):
        sock.stamp_reads = False


def reads(sock: Any) -> int:
    """How many stamped reads this socket made since it was armed."""
    return getattr(sock, "rx_reads", 0)


def arrival(sock: Any, own_read: bool, t_read: float, t_start: float) -> float | None:
    """The ``perf_counter`` time at which an event that the socket's last read completed arrived:
    the read's oldest packet if the event had the read to itself (``own_read``), else its newest.
    None when unstamped, or when the stamp is not between ``t_start`` (the request) and ``t_read``
    (when it was read): a wall-clock step or a stale stamp."""
    ns = getattr(sock, "rx_oldest_ns" if own_read else "rx_newest_ns", 0)
    if not ns:
        return None
    age_s = (time.time_ns() - ns) / 1e9
    t = time.perf_counter() - age_s
    if t_start - _SLACK_S <= t <= t_read + _SLACK_S:
        return min(max(t, t_start), t_read)
    return None
