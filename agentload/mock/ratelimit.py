"""Per-API-key rate limits the way OpenAI applies them: requests and tokens per minute, connections.

Each key has two token buckets that refill continuously at limit/60 per second. OpenAI notes that
its per-minute limits are quantized (600 RPM may be enforced as 10 requests per second), so a bucket
holds only ``burst_s`` seconds of budget, not a whole minute: a client cannot burst a minute's quota
and a sustained overload is throttled to the limit within about a second. A request larger than the
bucket is admitted when the bucket is full and drives it negative (it still cannot exceed the rate).
Tokens are reserved at request start: input (cached included) plus the estimated output
(``max_output_tokens`` when given, else the scripted output), as OpenAI does. Concurrent WebSocket
connections are counted per key and refused at the upgrade beyond the limit.

Headers report the budget scaled to the minute, as OpenAI's do: ``remaining`` is the bucket's level
times limit/capacity, ``reset`` the time until the bucket is full again, as a Go duration.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

from ..core import rate_headers as rh
from ..core.rate_headers import go_duration
from .errors import ApiError

RATE_LIMIT_URL = "https://platform.openai.com/account/rate-limits"
ANONYMOUS = "anonymous"


@dataclass
class Bucket:
    limit: float  # per minute
    burst_s: float
    level: float = field(init=False)
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.level = self.capacity
        self.at = time.monotonic()

    @property
    def rate(self) -> float:
        return self.limit / 60.0

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * self.burst_s)

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` can be admitted (0 = now)."""
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def remaining(self) -> int:
        return max(0, math.floor(self.level * self.limit / self.capacity))

    def reset_s(self) -> float:
        return max(0.0, (self.capacity - self.level) / self.rate)


@dataclass
class KeyLimits:
    requests: Bucket
    tokens: Bucket
    connections: int = 0


@dataclass(frozen=True)
class Limits:
    rpm: int
    tpm: int
    max_connections: int  # 0 = no limit
    burst_s: float = 1.0


def key_of(authorization: str | None) -> str:
    """A stable, non-reversible name for the caller's key (the key itself is never kept)."""
    if not authorization:
        return ANONYMOUS
    return hashlib.sha256(authorization.encode()).hexdigest()[:16]


class RateLimiter:
    def __init__(self, limits: Limits, model: str = "gpt-5.4") -> None:
        self.limits = limits
        self.model = model
        self._keys: dict[str, KeyLimits] = {}
        self.rejected = {"requests": 0, "tokens": 0, "connections": 0}

    def _get(self, key: str) -> KeyLimits:
        k = self._keys.get(key)
        if k is None:
            lim = self.limits
            k = self._keys[key] = KeyLimits(Bucket(lim.rpm, lim.burst_s), Bucket(lim.tpm, lim.burst_s))
        now = time.monotonic()
        k.requests.refill(now)
        k.tokens.refill(now)
        return k

    def headers(self, key: str) -> dict[str, str]:
        k = self._get(key)
        return {
            rh.LIMIT_REQUESTS: str(self.limits.rpm),
            rh.LIMIT_TOKENS: str(self.limits.tpm),
            rh.REMAINING_REQUESTS: str(k.requests.remaining()),
            rh.REMAINING_TOKENS: str(k.tokens.remaining()),
            rh.RESET_REQUESTS: go_duration(k.requests.reset_s()),
            rh.RESET_TOKENS: go_duration(k.tokens.reset_s()),
        }

    def _too_many(
        self, key: str, kind: str, limit: int, used: int, requested: int, wait_s: float
    ) -> ApiError:
        self.rejected[kind] += 1
        unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
        message = (
            f"Rate limit reached for {self.model} in organization org-agentload-mock on {unit}: "
            f"Limit {limit}, Used {used}, Requested {requested}. Please try again in {go_duration(wait_s)}. "
            f"Visit {RATE_LIMIT_URL} to learn more."
        )
        headers = self.headers(key)
        headers[rh.RETRY_AFTER] = str(max(1, math.ceil(wait_s)))
        headers[rh.RETRY_AFTER_MS] = str(max(1, math.ceil(wait_s * 1000)))
        return ApiError(429, message, kind, "rate_limit_exceeded", None, headers)

    def admit_request(self, key: str) -> None:
        """One request against RPM; raises the 429 ApiError (with headers) when over."""
        k = self._get(key)
        wait = k.requests.wait_for(1)
        if wait > 0:
            used = self.limits.rpm - k.requests.remaining()
            raise self._too_many(key, "requests", self.limits.rpm, used, 1, wait)
        k.requests.level -= 1

    def admit_tokens(self, key: str, tokens: int) -> None:
        """Reserve ``tokens`` against TPM at request start; raises the 429 ApiError when over."""
        k = self._get(key)
        if tokens > self.limits.tpm:
            self.rejected["tokens"] += 1
            raise ApiError(
                429,
                f"Request too large for {self.model} in organization org-agentload-mock on tokens per min "
                f"(TPM): Limit {self.limits.tpm}, Requested {tokens}. The input or output tokens must be "
                f"reduced in order to run successfully. Visit {RATE_LIMIT_URL} to learn more.",
                "tokens",
                "rate_limit_exceeded",
                None,
                self.headers(key),
            )
        wait = k.tokens.wait_for(tokens)
        if wait > 0:
            used = self.limits.tpm - k.tokens.remaining()
            raise self._too_many(key, "tokens", self.limits.tpm, used, tokens, wait)
        k.tokens.level -= tokens

    def open_connection(self, key: str) -> None:
        k = self._get(key)
        cap = self.limits.max_connections
        if cap and k.connections >= cap:
            self.rejected["connections"] += 1
            headers = self.headers(key)
            headers[rh.RETRY_AFTER] = "1"
            headers[rh.RETRY_AFTER_MS] = "1000"
            raise ApiError(
                429,
                f"Too many concurrent WebSocket connections for this API key: Limit {cap}, Open "
                f"{k.connections}. Close a connection or try again later.",
                "connections",
                "rate_limit_exceeded",
                None,
                headers,
            )
        k.connections += 1

    def close_connection(self, key: str) -> None:
        k = self._get(key)
        k.connections = max(0, k.connections - 1)

    def snapshot(self) -> dict[str, object]:
        return {
            "rpm": self.limits.rpm,
            "tpm": self.limits.tpm,
            "max_connections": self.limits.max_connections,
            "rejected": dict(self.rejected),
            "open_connections": sum(k.connections for k in self._keys.values()),
        }
