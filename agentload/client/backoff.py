"""How long an agent waits before its next attempt: after a 429 (by --on-429) and after a transient failure."""

from __future__ import annotations

import random

from ..core.rate_headers import RateLimitInfo
from ..core.records import ErrorKind
from .settings import On429

HONOR_JITTER = 0.5  # waits are stretched by up to 50 %, so agents told the same time do not stampede
HONOR_FLOOR_S, HONOR_FLOOR_MAX_S = 0.1, 8.0  # repeated 429s on one turn: the wait's floor doubles
RETRY_BASE_S, RETRY_MAX_S = 0.5, 30.0  # --on-429 retry: exponential backoff, full jitter
DEFAULT_WAIT_S = 1.0  # honor, when a 429 names no time at all
# after a transient failure: the openai SDK's backoff (0.5 s doubling to 8 s, up to 25 % less)
RETRY_FAILURE_BASE_S, RETRY_FAILURE_MAX_S = 0.5, 8.0
IMMEDIATE_RETRY = frozenset({ErrorKind.CONNECTION_LIMIT, ErrorKind.PREVIOUS_NOT_FOUND})  # no wait: resend


TASK_BACKOFF_BASE_S, TASK_BACKOFF_MAX_S = 0.5, 15.0  # between tasks that fail back to back
# failures no retry fixes: the endpoint or model is not there, the key is refused, the request is
# refused as invalid, the quota is spent, the WebSocket upgrade is refused, nothing listens at the host
UNFIXABLE = frozenset(
    {ErrorKind.NOT_FOUND, ErrorKind.AUTH, ErrorKind.BAD_REQUEST, ErrorKind.QUOTA, ErrorKind.UPGRADE_REFUSED}
)


def unfixable(kind: str | None, code: str | None) -> bool:
    return kind in UNFIXABLE or (kind == ErrorKind.CONNECTION and code == "connect_failed")


class TaskBackoff:
    """An agent whose tasks fail back to back waits before the next one: exponential with jitter,
    capped, and reset by a task that succeeds (a developer's agent does not hammer a broken API)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.failures = 0

    def after(self, ok: bool, interrupted: bool = False) -> float:
        """The wait before the next task, after one that ended ``ok`` or not."""
        if ok:
            self.failures = 0
            return 0.0
        if interrupted:
            return 0.0
        self.failures += 1
        top: float = min(TASK_BACKOFF_MAX_S, TASK_BACKOFF_BASE_S * 2 ** (self.failures - 1))
        return top * self.rng.uniform(0.5, 1.0)


def retry_backoff_s(kind: str | None, retry: int, rng: random.Random | None = None) -> float:
    """The wait before the ``retry``-th (0-based) new attempt after a transient failure."""
    if kind in IMMEDIATE_RETRY:
        return 0.0
    r = (rng or random).random()
    cap: float = min(RETRY_FAILURE_MAX_S, RETRY_FAILURE_BASE_S * 2**retry)
    return cap * (1.0 - 0.25 * r)


def rate_limit_backoff_s(
    policy: On429, attempt: int, info: RateLimitInfo, error_type: str | None, rng: random.Random | None = None
) -> float:
    """How long to wait after the ``attempt``-th 429 of a turn (0-based), by policy."""
    rng_ = rng or random
    if policy == On429.RETRY:
        return rng_.uniform(0, min(RETRY_MAX_S, RETRY_BASE_S * 2**attempt))
    # honor: at least what the server asks. retry-after says when the budget has room for one request,
    # not for every agent told the same: so a turn refused again waits a growing floor, with jitter.
    ms = info.wait_ms(error_type)
    asked = ms / 1000.0 if ms is not None and ms > 0 else DEFAULT_WAIT_S
    floor = min(HONOR_FLOOR_MAX_S, HONOR_FLOOR_S * 2**attempt) if attempt else 0.0
    return max(asked, floor) * (1.0 + rng_.uniform(0, HONOR_JITTER))
