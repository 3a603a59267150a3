"""A link in the agent's own sockets: what ``--link`` (core.link.LinkSpec) costs, in user space.

The kernel's netem is not at hand on a load generator (it needs root, and shapes a whole interface),
so the counting sockets (wire/counting.py) ask this object before and after they move bytes:

- after a TCP connect, and after a TLS handshake, ``handshake`` waits their round trips;
- the first send after a read (a new request: HTTP and WebSocket mode are request then reply) waits
  one round trip, drawn within rtt +- jitter; its bytes then go out in slices of 10 ms worth, each
  handed to the kernel when the uplink has carried it, so a 150 KB body at 1 Mbit/s reaches the
  server 1.2 s (and the round trip) after it left, and the model's time starts then;
- the bytes of a request go out a congestion window at a time (core.slowstart): after each full
  window the slice waits for the acknowledgement that opens the next, doubled, when that comes later
  than the window took to send. The window is the connection's: a handshake starts a new one at the
  initial window, each request ends with it grown by what was acknowledged, and a request that finds
  the connection idle for longer than its retransmission timeout starts from the initial window again
  (``slowstart=idle``, the profiles' default; ``fresh`` keeps it, ``off`` has none);
- each read's bytes are let through at the downlink rate (a reply that comes slower than the link
  carries waits for nothing);
- a lost segment (``loss``) delays what follows it: by one round trip (fast retransmit after three
  duplicate acknowledgements, RFC 5681), or by a retransmission timeout (at least 200 ms, Linux's
  TCP_RTO_MIN) for one of a request's last three segments, which no three segments follow.

One ``Link`` is one agent's (its connections share it, as one machine's link is shared; an agent's
requests are one at a time, so the window it keeps is its current connection's); a transport without
``--link`` has none, and its sockets do no work for it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import gevent

from ...core.link import MSS, LinkSpec
from ...core.slowstart import grown, stall_s

SLICE_S = 0.01  # the uplink hands its bytes to the kernel in slices of this much time
RTO_MIN_S = 0.2  # Linux's minimum retransmission timeout (TCP_RTO_MIN)
TAIL_SEGMENTS = 3  # a loss among the last three segments of a request waits for the timeout


class Link:
    def __init__(
        self,
        spec: LinkSpec,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], object] = gevent.sleep,
    ) -> None:
        e = spec.effective()
        self.spec = spec
        self.rtt_s = e.rtt_ms / 1000.0
        self.jitter_s = e.jitter_ms / 1000.0
        self.up_bps = e.up_kbps * 1000.0
        self.down_bps = e.down_kbps * 1000.0
        self.loss = e.loss
        self.rng = rng or random.Random()
        self.clock, self.sleep = clock, sleep
        self.slice_bytes = max(MSS, int(self.up_bps / 8 * SLICE_S)) if self.up_bps else 1 << 30
        self._sending = False  # a request is going out (no read since its first send)
        self._due = 0.0  # when the bytes handed so far have crossed the uplink
        self._rx_due = 0.0  # when the bytes read so far have crossed the downlink
        self._rx_busy = False  # the last read waited for the downlink: the next one queued behind it
        self._cwnd: int | None = None  # the connection's window at its last request (None: a new one)
        self._window = 0  # the current round's window, and what is left of it
        self._window_left = 0
        self._last_sent = 0.0  # when the connection's last bytes crossed (its idleness starts)

    def round_trip_s(self) -> float:
        if not self.jitter_s:
            return self.rtt_s
        return max(0.0, self.rtt_s + self.rng.uniform(-self.jitter_s, self.jitter_s))

    def _wait_until(self, t: float) -> None:
        now = self.clock()
        if t > now:
            self.sleep(t - now)

    def handshake(self, round_trips: int) -> None:
        """A connection's set-up: ``round_trips`` of them (TCP 1; TLS 1.3 one more). A new connection:
        its window starts at the initial one."""
        self._sending = False
        self._cwnd = None
        if self.rtt_s or self.jitter_s:
            self._wait_until(self.clock() + sum(self.round_trip_s() for _ in range(round_trips)))

    def before_send(self, remaining: int) -> int:
        """Waits until the next slice of a send of ``remaining`` bytes has crossed; returns its size."""
        now = self.clock()
        if not self._sending:  # a new request: its first bit arrives a round trip from now
            self._sending = True
            self._due = now + self.round_trip_s()
            self._start_window(now)
        n = min(remaining, self.slice_bytes)
        if self._window:
            if not self._window_left:  # the window is full: the next opens with the first acknowledgement
                self._due += stall_s(self._window, self.round_trip_s(), self.up_bps / 8)
                self._window *= 2
                self._window_left = self._window
            n = min(n, self._window_left)
            self._window_left -= n
        if self.up_bps:
            self._due += n * 8 / self.up_bps
        if self.loss:
            self._due += self._loss_s(n, remaining - n)
        self._last_sent = self._due
        self._wait_until(self._due)
        return n

    def _start_window(self, now: float) -> None:
        """A request's first window: the connection's, grown by its last request's acknowledgements,
        then restarted if it has been idle since for longer than its retransmission timeout."""
        if self._cwnd is not None and self._window:
            self._cwnd = grown(self._window, self._window - self._window_left)
        self._window = self.spec.start_window(self._cwnd, now - self._last_sent)
        self._window_left = self._window
        self._cwnd = self._window

    def sent(self, asked: int, n: int) -> None:
        """The kernel took ``n`` of the ``asked`` bytes: the rest is sent (and paid for) again."""
        if n < asked and self._window:
            self._window_left += asked - n
        if n < asked and self.up_bps:
            self._due -= (asked - n) * 8 / self.up_bps

    def received(self, n: int) -> bool:
        """After a read of ``n`` bytes: waits while the downlink carries them. True when it waited
        (the bytes' arrival is then now, not when the kernel had them)."""
        self._sending = False
        if not n or not (self.down_bps or self.loss):
            return False
        now = self.clock()
        start = self._rx_due if self._rx_busy and self._rx_due > now - SLICE_S else now
        due = start + (n * 8 / self.down_bps if self.down_bps else 0.0)
        if self.loss:
            due += self._loss_s(n, math.inf)
        self._rx_due = due
        self._rx_busy = due > now
        self._wait_until(due)
        return self._rx_busy

    def _loss_s(self, n: int, after: float) -> float:
        """The retransmission time of the segments lost among ``n`` bytes (``after``: bytes of the same
        message that follow them)."""
        total = 0.0
        segments = -(-n // MSS)
        for i in range(segments):
            if self.rng.random() < self.loss:
                following = (segments - 1 - i) + after / MSS
                tail = following < TAIL_SEGMENTS
                total += max(RTO_MIN_S, self.rtt_s + 4 * self.jitter_s) if tail else self.round_trip_s()
        return total
