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

import socket

import gevent
import pytest
from gevent.monkey import get_original

from agentload.client import ChatHttp, ResponsesHttp, ResponsesWebSocket, Timeouts, api_base
from agentload.client.wire import rxstamp
from agentload.client.wire.counting import CountingSocket, WireCounter
from tests.servers import make_tls_files

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


def _body(kind: str) -> dict:
    if kind == "chat":
        return {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    body = {"model": "m", "input": "hi", "store": False}
    return {"type": "response.create", **body} if kind == "ws" else {**body, "stream": True}


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
@pytest.mark.parametrize("kind", TRANSPORTS)
def test_ttft_is_the_arrival_of_the_first_token_not_its_reading(start_mock, tmp_path, monkeypatch, kind, tls):
    args = [*MOCK, *SLOW_DELTAS]
    if tls:  # the stamp comes from a peek at the encrypted bytes (OpenSSL does the reads)
        ca, cert, key = make_tls_files(tmp_path)
        args += ["--tls-cert", str(cert), "--tls-key", str(key)]
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    out, served = _late_turn(start_mock(*args), kind)
    ttft_ms = (out.t_first_token - out.t_start) * 1000.0
    assert out.client_lag_ms is not None, "the first token's read was not stamped by the kernel"
    read_ms = ttft_ms + out.client_lag_ms
    assert read_ms > (0.05 + FREEZE_S) * 1000.0 - 5  # the agent did read it only after the freeze
    assert out.client_lag_ms > (0.05 + FREEZE_S) * 1000.0 - TTFT_MS - 30
    # ... yet the TTFT is the mock's (its request's arrival to first-token-written), within loopback noise
    assert abs(ttft_ms - served["ttft_ms"]) < 10, (ttft_ms, served["ttft_ms"])


def test_a_later_agent_errs_late_never_early(start_mock):
    """Deltas every 5 ms pile up unread during the freeze: the stamp is a later packet's."""
    out, served = _late_turn(start_mock(*MOCK, "--output-tps", "200"), "ws")
    ttft_ms = (out.t_first_token - out.t_start) * 1000.0
    assert out.client_lag_ms is not None
    assert served["ttft_ms"] - 2 <= ttft_ms <= ttft_ms + out.client_lag_ms


def _late_turn(mock, kind: str) -> tuple:
    """One turn whose first token arrives while the whole worker is frozen; (outcome, mock's view)."""
    t = TRANSPORTS[kind](api_base(mock.url), {"Authorization": "Bearer sk-test"}, TIMEOUTS)
    try:
        warm = t.exchange(_body(kind))  # connect first: TTFT then is the model's alone
        assert warm.ok, warm.error_message

        turn = gevent.spawn(t.exchange, _body(kind))
        gevent.sleep(0.05)  # the request is on the wire
        _block(FREEZE_S)  # the worker is busy; the first token arrives at ~0.3 s and waits
        out = turn.get(timeout=10)
    finally:
        t.close()
    assert out.ok, out.error_message
    served = [x for x in mock.stats()["exchanges"] if x["ttft_ms"] is not None]
    assert len(served) == 2  # the warm-up, then this turn
    assert served[-1]["response_id"] == out.response_id
    return out, served[-1]


def test_agents_waiting_for_a_first_token_read_before_streaming_ones() -> None:
    """A burst: many sockets turn readable while the worker is busy. In the hub iteration that
    follows, the agents armed for a first token read first (libev priority), the streaming ones
    after, so the first tokens are read before a next packet can merge with them."""
    readers, writers = [], []
    for _ in range(8):
        a, b = socket.socketpair()
        reader = CountingSocket(fileno=a.detach())
        reader.counter, reader.stamps = WireCounter(), rxstamp.enable(reader)
        readers.append(reader)
        writers.append(b)
    armed = {2, 5}
    order: list[int] = []

    def agent(i: int) -> None:
        if i in armed:
            rxstamp.arm(readers[i])
        readers[i].recv(16)
        order.append(i)
        rxstamp.disarm(readers[i])

    agents = [gevent.spawn(agent, i) for i in range(8)]
    gevent.sleep(0.01)  # every agent waits on its socket
    for w in writers:
        w.send(b"x")
    _block(0.05)  # all eight are readable before the hub looks
    gevent.joinall(agents, timeout=5)
    try:
        assert sorted(order) == list(range(8))
        assert set(order[:2]) == armed, order
        assert all(r._read_event.priority == 0 for r in readers)  # disarm put them back
    finally:
        for s in [*readers, *writers]:
            s.close()
