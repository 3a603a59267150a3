"""Per-second counters of turns, merged across workers: what the rate-limit probe measures each step with.

Workers send the seconds they filled to the master with every stats report (and their final report),
so the master, which drives the probe's ramp, sees the whole fleet by wall-clock second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..core.records import ErrorKind, TurnRecord

LIMIT_TYPES = ("requests", "tokens", "connections")


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

    def merge(self, d: dict[str, Any]) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + d.get(f.name, 0))


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
            s.tokens += rec.input_tokens + rec.output_tokens
            if rec.ttft_ms is not None:
                s.ttft_sum_ms += rec.ttft_ms
                s.ttft_n += 1
        elif rec.error_kind == ErrorKind.RATE_LIMITED:
            kind = rec.error_type if rec.error_type in LIMIT_TYPES else "other"
            setattr(s, f"rl_{kind}", getattr(s, f"rl_{kind}") + 1)
        else:
            s.other_errors += 1

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
