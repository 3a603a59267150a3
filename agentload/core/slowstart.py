"""TCP's congestion window on an agent's connection: why a large request after a pause takes more round
trips than its bytes need, and a small one does not.

A TCP sender may have no more unacknowledged bytes in flight than its congestion window. A connection
starts with an initial window of a few segments (RFC 6928: ten) and doubles it each round trip while
the receiver acknowledges (slow start, RFC 5681); a body larger than the window goes out a window at a
time, and the sender waits for the first acknowledgement before the next window when the window took
less time to send than that acknowledgement takes to come back. On a kept-alive connection the window
would stay open, but a sender that has been idle for longer than its retransmission timeout restarts
from the initial window (RFC 5681 section 4.1, RFC 2861; Linux: ``net.ipv4.tcp_slow_start_after_idle``,
on by default, ``tcp_cwnd_restart`` halving the window for each timeout of idleness down to the
initial one). An agent is idle on its uplink for the whole of a turn: the server's work, the streamed
reply and the tools' run all come between one request and the next. So every request of a stateless
agent, the whole context resent, starts from the initial window, while a continuation (its new items
only) fits into it.

The arithmetic follows the textbook model of slow start's latency (Kurose and Ross, Computer
Networking, "TCP latency modeling"): after the k-th window the sender stalls for
``segment time + round trip - window time`` when that is positive, and the window doubles. The
connection's sender is the agent (its requests); the server's window on the reply stream is not
modelled (docs/time-model.md says why). client.wire.link applies it to the agents' sockets and
core.link.LinkSpec gives the expected times the calibration prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MSS = 1448  # TCP payload bytes per segment (1500-byte MTU, IPv4 and TCP headers with timestamps)
INITIAL_WINDOW = 10  # segments (RFC 6928; Linux's TCP_INIT_CWND since 2.6.39)
RTO_MIN_S = 0.2  # Linux's minimum retransmission timeout (TCP_RTO_MIN)


class SlowStart(StrEnum):
    """When a connection's window starts from the initial window (``--link ...,slowstart=``)."""

    IDLE = "idle"  # a new connection, and after an idle retransmission timeout (Linux's default)
    FRESH = "fresh"  # a new connection only (tcp_slow_start_after_idle=0: the window kept across pauses)
    OFF = "off"  # never: no window, the link's rate and round trips alone


def rto_s(rtt_s: float, rto_min_s: float = RTO_MIN_S) -> float:
    """The retransmission timeout of a connection with a steady round trip: Linux's is the smoothed
    round trip plus its variance, the variance never below TCP_RTO_MIN (``tcp_rtt_estimator``)."""
    return rtt_s + rto_min_s


def after_idle(cwnd: int, idle_s: float, rto: float, initial: int) -> int:
    """The window a sender idle for ``idle_s`` sends with: Linux's ``tcp_cwnd_restart``, halved once for
    each timeout of idleness, never below the restart window (the initial window, or less)."""
    if idle_s <= rto:
        return cwnd
    restart = min(initial, cwnd)
    left = idle_s
    while (left := left - rto) > 0 and cwnd > restart:
        cwnd //= 2
    return max(cwnd, restart)


def stall_s(window: int, rtt_s: float, bytes_per_s: float) -> float:
    """How long a sender waits after a window of ``window`` bytes for the acknowledgement that opens
    the next: none once the window takes longer to send than the first segment's acknowledgement
    takes to come back (0 bytes per second: an unlimited rate)."""
    segment = MSS / bytes_per_s if bytes_per_s else 0.0
    send = window / bytes_per_s if bytes_per_s else 0.0
    return max(0.0, segment + rtt_s - send)


def grown(window: int, used: int) -> int:
    """The window once the last round's ``used`` bytes (of ``window``) are acknowledged: slow start adds
    what was acknowledged, and Linux grows it only while the window is the limit (at most twice what
    was in flight: ``tcp_is_cwnd_limited``), so a request that fits does not open it."""
    return min(window + used, max(window, 2 * used))


@dataclass(frozen=True)
class Burst:
    """What sending a request's bytes from a window costs."""

    rounds: int  # windows the bytes took (1: they fit)
    stall_s: float  # the time the sender waited for acknowledgements between them
    cwnd: int  # the window after the last round is acknowledged


def burst(nbytes: int, cwnd: int, rtt_s: float, bytes_per_s: float) -> Burst:
    """``nbytes`` sent from a window of ``cwnd`` bytes, a round trip of ``rtt_s`` and a rate of
    ``bytes_per_s`` (0: unlimited): each full window but the last is followed by its stall."""
    window, sent, rounds, stalled = max(cwnd, 1), 0, 0, 0.0
    while True:
        rounds += 1
        used = min(window, nbytes - sent)
        sent += used
        if sent >= nbytes:
            return Burst(rounds, stalled, grown(window, used))
        stalled += stall_s(window, rtt_s, bytes_per_s)
        window *= 2
