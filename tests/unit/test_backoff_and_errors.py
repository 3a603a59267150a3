"""Table tests: the waits between attempts, and how a status or an error code becomes an error kind."""

from __future__ import annotations

import random

import pytest

from agentload.client.backoff import rate_limit_backoff_s, retry_backoff_s
from agentload.client.settings import On429
from agentload.client.stream import TurnOutcome, error_from_body, kind_for_status
from agentload.core.rate_headers import RateLimitInfo, go_duration, parse_go_duration
from agentload.core.records import ErrorKind


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, None, ErrorKind.RATE_LIMITED),
        (None, "rate_limit_exceeded", ErrorKind.RATE_LIMITED),
        (429, "insufficient_quota", ErrorKind.QUOTA),
        (401, None, ErrorKind.AUTH),
        (403, None, ErrorKind.AUTH),
        (400, "previous_response_not_found", ErrorKind.PREVIOUS_NOT_FOUND),
        (400, "websocket_connection_limit_reached", ErrorKind.CONNECTION_LIMIT),
        (400, None, ErrorKind.BAD_REQUEST),
        (500, None, ErrorKind.SERVER),
        (503, None, ErrorKind.SERVER),
    ],
)
def test_status_and_code_to_error_kind(status: int | None, code: str | None, kind: ErrorKind) -> None:
    assert kind_for_status(status, code) == kind


def test_a_socket_error_event_carries_status_type_and_headers() -> None:
    out = TurnOutcome()
    raw = (
        b'{"type":"error","status":429,"error":{"type":"tokens","code":"rate_limit_exceeded","message":"slow"},'
        b'"headers":{"Retry-After-Ms":"120"}}'
    )
    error_from_body(out, None, raw)
    assert (out.error_kind, out.http_status, out.error_type) == (ErrorKind.RATE_LIMITED, 429, "tokens")
    assert out.headers == {"retry-after-ms": "120"}
    garbage = TurnOutcome()
    error_from_body(garbage, 502, b"<html>bad gateway</html>")
    assert (garbage.error_kind, garbage.error_message) == (ErrorKind.SERVER, "HTTP 502")


@pytest.mark.parametrize("retry", range(6))
def test_transient_failures_back_off_as_the_sdk_does(retry: int) -> None:
    wait = retry_backoff_s(ErrorKind.SERVER, retry, random.Random(retry))
    top = min(8.0, 0.5 * 2**retry)
    assert 0.75 * top <= wait <= top
    assert retry_backoff_s(ErrorKind.PREVIOUS_NOT_FOUND, retry) == 0.0  # resend at once


def test_honor_waits_at_least_what_the_server_asks_and_the_floor_grows() -> None:
    info = RateLimitInfo.from_headers({"retry-after-ms": "50"})
    rng = random.Random(3)
    waits = [rate_limit_backoff_s(On429.HONOR, n, info, "requests", rng) for n in range(8)]
    assert all(w >= 0.05 for w in waits)
    floors = [0.0, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 8.0]
    assert all(w >= f for w, f in zip(waits, floors, strict=True))
    assert all(w <= max(0.05, f) * 1.5 for w, f in zip(waits, floors, strict=True))
    reset_only = RateLimitInfo.from_headers({"x-ratelimit-reset-tokens": "1.5s"})
    assert 1.5 <= rate_limit_backoff_s(On429.HONOR, 0, reset_only, "tokens", rng) <= 2.25
    nothing = RateLimitInfo()
    assert 1.0 <= rate_limit_backoff_s(On429.HONOR, 0, nothing, None, rng) <= 1.5


def test_retry_policy_is_full_jitter_exponential() -> None:
    rng = random.Random(0)
    for n in range(8):
        assert 0 <= rate_limit_backoff_s(On429.RETRY, n, RateLimitInfo(), None, rng) <= min(30.0, 0.5 * 2**n)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.012, "12ms"), (1.0, "1s"), (1.5, "1.5s"), (360, "6m0s"), (3723, "1h2m3s")]
)
def test_go_durations_round_trip(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
    assert parse_go_duration(text) == pytest.approx(seconds)
    assert parse_go_duration("soon") is None
