"""A shaped uplink: an agent's upload rate held to --uplink-kbps, as on a constrained link.

Published measurements say resending the whole context hurts most where the uplink is thin; a sweep
over ``--uplink-kbps`` shows by how much. The shaping is a token bucket in the agent's own sockets:
bytes go out in slices of 10 ms worth, each slice waiting until the link is free again, so a 150 KB
stateless request at 512 kbit/s takes about 2.3 s to send, and time to first token includes it.
Loopback has no such link; this is the one place it is modelled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gevent

SLICE_S = 0.01


@dataclass
class Uplink:
    """One agent's upload link (shared by all its connections, as one machine's link is)."""

    kbps: float
    _free_at: float = 0.0

    @property
    def bytes_per_slice(self) -> int:
        return max(1, int(self.kbps * 1000 / 8 * SLICE_S))

    def before_send(self, n: int) -> int:
        """Waits until the link is free; returns how many of ``n`` bytes may go now."""
        now = time.perf_counter()
        if self._free_at > now:
            gevent.sleep(self._free_at - now)
        return min(n, self.bytes_per_slice)

    def sent(self, n: int) -> None:
        now = time.perf_counter()
        self._free_at = max(now, self._free_at) + n * 8 / (self.kbps * 1000)
