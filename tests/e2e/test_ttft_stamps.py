"""TTFT is when the first token reached this machine, not when a busy worker got round to reading it.

Each transport exchanges with a real mock (TTFT 300 ms, then a delta every 0.5 s) while the test
freezes the whole worker for 0.5 s right after the request is out, as a saturated event loop would:
the first token arrives in the middle of the freeze and waits in the socket. The recorded TTFT must
still be the mock's own first-token time, and the wait must appear as the turn's ``client_lag_ms``.

(The kernel merges packets that wait unread in a socket and keeps the newest one's stamp, so a stamp
is exact while an agent is late by less than the gap between two deltas; later than that, the TTFT
errs late by at most the lag, never early: the second test.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.monkey import get_original

from agentload.client import ChatHttp, ResponsesHttp, ResponsesWebSocket, Timeouts, TurnOutcome, api_base
from agentload.mock import MockProcess
from tests.servers import make_tls_files, wait_for

_block = get_original("time", "sleep")  # blocks the process, greenlets and all (gevent's would yield)
TTFT_MS = 300.0
FREEZE_S = 0.5
MOCK = (
    "--ttft-ms",
    str(TTFT_MS),
    "--prefill-ms-per-1k",
    "0",
    "--cached-ms-per-1k",
    "0",
    "--default-calls",
    "1",
)
SLOW_DELTAS = ("--output-tps", "20", "--chunk-tokens", "10")  # one delta every 0.5 s
TIMEOUTS = Timeouts(connect_s=5, first_token_s=10, idle_s=10)
TRANSPORTS = {"ws": ResponsesWebSocket, "responses": ResponsesHttp, "chat": ChatHttp}


def _body(kind: str) -> dict[str, Any]:
    if kind == "chat":
        return {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    body = {"model": "m", "input": "hi", "store": False}
    return {"type": "response.create", **body} if kind == "ws" else {**body, "stream": True}


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
@pytest.mark.parametrize("kind", TRANSPORTS)
def test_ttft_is_the_arrival_of_the_first_token_not_its_reading(
    start_mock: Callable[..., MockProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    tls: bool,
) -> None:
    args = [*MOCK, *SLOW_DELTAS]
    if tls:  # the stamp comes from a peek at the encrypted bytes (OpenSSL does the reads)
        ca, cert, key = make_tls_files(tmp_path)
        args += ["--tls-cert", str(cert), "--tls-key", str(key)]
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    out, served, thawed = _late_turn(start_mock(*args), kind)
    assert out.t_first_token is not None
    ttft_ms = (out.t_first_token - out.t_start) * 1000.0
    assert out.client_lag_ms is not None, "the first token's read was not stamped by the kernel"
    read_ms = ttft_ms + out.client_lag_ms
    frozen_until_ms = (thawed - out.t_start) * 1000.0  # the freeze's end, from the request's start
    assert read_ms > frozen_until_ms - 5  # the agent did read it only after the freeze
    assert out.client_lag_ms > frozen_until_ms - TTFT_MS - 30
    # ... yet the TTFT is the mock's (its request's arrival to first-token-written), within loopback noise
    assert abs(ttft_ms - served["ttft_ms"]) < 10, (ttft_ms, served["ttft_ms"])


def test_a_later_agent_errs_late_never_early(start_mock: Callable[..., MockProcess]) -> None:
    """Deltas every 5 ms pile up unread during the freeze: the stamp is a later packet's."""
    out, served, _ = _late_turn(start_mock(*MOCK, "--output-tps", "200"), "ws")
    assert out.t_first_token is not None
    ttft_ms = (out.t_first_token - out.t_start) * 1000.0
    assert out.client_lag_ms is not None
    assert served["ttft_ms"] - 2 <= ttft_ms <= ttft_ms + out.client_lag_ms


def _late_turn(mock: MockProcess, kind: str) -> tuple[TurnOutcome, dict[str, Any], float]:
    """One turn whose first token arrives while the whole worker is frozen; (outcome, mock's view,
    the freeze's end on the outcome's clock)."""
    t = TRANSPORTS[kind](api_base(mock.url), {"Authorization": "Bearer sk-test"}, TIMEOUTS)
    try:
        warm = t.exchange(_body(kind))  # connect first: TTFT then is the model's alone
        assert warm.ok, warm.error_message

        turn = gevent.spawn(t.exchange, _body(kind))
        # the request is on the wire and the mock has taken it up (its TTFT runs from there)
        wait_for(
            lambda: len([x for x in mock.stats()["exchanges"] if x["response_id"]]) == 2, 10, "the request"
        )
        _block(FREEZE_S)  # the worker is busy; the first token arrives at ~0.3 s and waits
        thawed = time.perf_counter()  # the clock of TurnOutcome.t_start
        out = turn.get(timeout=10)
    finally:
        t.close()
    assert out.ok, out.error_message
    served = [x for x in mock.stats()["exchanges"] if x["ttft_ms"] is not None]
    assert len(served) == 2  # the warm-up, then this turn
    assert served[-1]["response_id"] == out.response_id
    return out, served[-1], thawed
