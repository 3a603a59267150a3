"""OpenAI's rate-limit headers: their names, the Go durations they use, and what a client reads from them.

One module for both sides: the mock writes these headers, the agents read them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

LIMIT_REQUESTS = "x-ratelimit-limit-requests"
LIMIT_TOKENS = "x-ratelimit-limit-tokens"
REMAINING_REQUESTS = "x-ratelimit-remaining-requests"
REMAINING_TOKENS = "x-ratelimit-remaining-tokens"
RESET_REQUESTS = "x-ratelimit-reset-requests"
RESET_TOKENS = "x-ratelimit-reset-tokens"
RETRY_AFTER = "retry-after"
RETRY_AFTER_MS = "retry-after-ms"

_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_GO_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def go_duration(seconds: float) -> str:
    """Go's time.Duration text, as in OpenAI's reset headers: 12ms, 1s, 1.5s, 6m0s, 1h2m3s."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s:.3f}".rstrip("0").rstrip(".")
    if h >= 1:
        return f"{int(h)}h{int(m)}m{sec}s"
    if m >= 1:
        return f"{int(m)}m{sec}s"
    return f"{sec}s"


def parse_go_duration(text: str) -> float | None:
    """Seconds from a Go duration (``6m0s``, ``1.146s``, ``12ms``); None if it is not one."""
    text = text.strip()
    if not text:
        return None
    pos, total = 0, 0.0
    for m in _GO_PART.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _GO_UNIT_S[m.group(2)]
        pos = m.end()
    return total if pos == len(text) else None


def _int(headers: Mapping[str, str], name: str) -> int | None:
    v = headers.get(name)
    try:
        return int(float(v)) if v is not None else None
    except ValueError:
        return None


def _ms(headers: Mapping[str, str], name: str) -> float | None:
    v = headers.get(name)
    s = parse_go_duration(v) if v is not None else None
    return None if s is None else s * 1000.0


@dataclass(frozen=True)
class RateLimitInfo:
    """What one response said about the caller's budget (None where a header was absent)."""

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_ms: float | None = None
    reset_tokens_ms: float | None = None
    retry_after_ms: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        """``headers`` with lower-case names (as the wire clients and the socket events give them)."""
        retry_ms: float | None = None
        if (v := headers.get(RETRY_AFTER_MS)) is not None:
            try:
                retry_ms = float(v)
            except ValueError:
                retry_ms = None
        if retry_ms is None and (v := headers.get(RETRY_AFTER)) is not None:
            try:
                retry_ms = float(v) * 1000.0
            except ValueError:
                retry_ms = None  # an HTTP date: rare for this API; fall back to the reset headers
        return cls(
            limit_requests=_int(headers, LIMIT_REQUESTS),
            limit_tokens=_int(headers, LIMIT_TOKENS),
            remaining_requests=_int(headers, REMAINING_REQUESTS),
            remaining_tokens=_int(headers, REMAINING_TOKENS),
            reset_requests_ms=_ms(headers, RESET_REQUESTS),
            reset_tokens_ms=_ms(headers, RESET_TOKENS),
            retry_after_ms=retry_ms,
        )

    def wait_ms(self, limit_type: str | None) -> float | None:
        """How long the server asks the client to wait: retry-after(-ms), else the matching reset."""
        if self.retry_after_ms is not None:
            return self.retry_after_ms
        if limit_type == "tokens":
            return self.reset_tokens_ms
        if limit_type == "requests":
            return self.reset_requests_ms
        return None
