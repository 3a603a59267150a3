"""The mock's measurements: the latency model and the exact byte ledger."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import openai

from agentload.mock.ledger import ByteLedger

TTFT_MS, PREFILL_MS_PER_1K, CACHED_MS_PER_1K = 150.0, 40.0, 5.0


def _first_delta_ms(stream) -> tuple[float, object]:
    t0 = time.perf_counter()
    first = None
    final = None
    for event in stream:
        if first is None and event.type.endswith(".delta"):
            first = (time.perf_counter() - t0) * 1000
        if event.type == "response.completed":
            final = event.response
    return first, final


def test_ttft_follows_the_latency_model(start_mock):
    mock = start_mock(
        "--ttft-ms",
        str(TTFT_MS),
        "--prefill-ms-per-1k",
        str(PREFILL_MS_PER_1K),
        "--cached-ms-per-1k",
        str(CACHED_MS_PER_1K),
        "--output-tps",
        "2000",
    )
    client = openai.OpenAI(base_url=f"{mock.url}/v1", api_key="sk-test", max_retries=0)
    client.models.list()  # open the keep-alive connection first: TTFT is the model's, not TCP's
    big = "def f(x):\n    return x\n" * 1500  # ~36 KB, ~9k tokens: prefill cost is visible
    measured, final = _first_delta_ms(client.responses.create(model="m", input=big, stream=True, store=True))
    u = final.usage
    expected = TTFT_MS + PREFILL_MS_PER_1K * (u.input_tokens - u.input_tokens_details.cached_tokens) / 1000
    assert u.input_tokens_details.cached_tokens == 0 and u.input_tokens > 8000
    assert abs(measured - expected) < 10, (measured, expected)
    # continuation from the stored response: its context is cached, so the prefill is cheap
    calls = [{"type": "function_call_output", "call_id": o.call_id, "output": "ok"} for o in final.output]
    measured2, final2 = _first_delta_ms(
        client.responses.create(
            model="m", previous_response_id=final.id, input=calls, stream=True, store=True
        )
    )
    u2 = final2.usage
    cached = u2.input_tokens_details.cached_tokens
    assert cached == u.total_tokens
    expected2 = (
        TTFT_MS + PREFILL_MS_PER_1K * (u2.input_tokens - cached) / 1000 + CACHED_MS_PER_1K * cached / 1000
    )
    assert abs(measured2 - expected2) < 10, (measured2, expected2)
    assert measured2 < measured - 200  # the cache is what makes continuation fast


def _raw_request(url: str, payload: bytes) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request on a plain socket; returns (bytes written, bytes read until close)."""
    u = urlsplit(url)
    req = (
        f"POST /v1/responses HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    with socket.create_connection((u.hostname, u.port)) as s:
        s.sendall(req)
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return req, b"".join(chunks)


def test_byte_ledger_equals_bytes_on_the_client_socket(start_mock):
    mock = start_mock("--latency", "zero")
    body_stream = json.dumps({"model": "m", "input": "count me", "stream": True}).encode()
    body_json = json.dumps({"model": "m", "input": "x" * 70_000}).encode()
    bad = b'{"model": 5}'
    sent = {}
    for payload in (body_stream, body_json, bad):
        req, resp = _raw_request(mock.url, payload)
        sent[len(req)] = len(resp)
    stats = mock.stats()
    got = {e["received"]: e["sent"] for e in stats["exchanges"]}
    assert got == sent
    assert stats["totals"]["received"] == sum(sent) and stats["totals"]["sent"] == sum(sent.values())
    mock.reset()
    assert mock.stats()["totals"]["received"] == 0


def test_mock_cli_errors_are_one_line(tmp_path):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    for args, flag in (
        (["--port", "70000"], "--port"),
        (["--output-tps", "-1"], "--output-tps"),
        (["--tasks-dir", str(tmp_path / "nope")], "--tasks-dir"),
        (["--tls-cert", str(tmp_path / "cert.pem")], "--tls-key"),
        (["--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "k.pem")], "--tls-cert"),
        (["--tls-cert", str(not_pem), "--tls-key", str(not_pem), "--port", "0"], "--tls-cert"),
        (["--gc-interval", "-1"], "--gc-interval"),
    ):
        p = subprocess.run(
            [sys.executable, "-m", "agentload", "mock", *args], capture_output=True, text=True, timeout=30
        )
        assert p.returncode == 2, p
        assert flag in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_ledger_stays_bounded_and_keeps_totals_exact():
    from agentload.mock.ledger import ByteLedger

    ledger = ByteLedger(max_exchanges=3, max_closed=2)
    for i in range(50):
        conn = ledger.open(f"127.0.0.1:{i}")
        conn.rx += 100
        conn.mark(ledger, "http", "/v1/responses")
        conn.tx += 1000 + i
        conn.closed = True
    # kept: max_closed x 2, plus those whose exchanges are still listed (3), plus the newest
    assert len(ledger.connections) <= 2 * 2 + 3 + 1 and len(ledger.exchanges) == 3
    totals = ledger.snapshot()["totals"]
    assert totals == {
        "received": 5000,
        "sent": 50 * 1000 + sum(range(50)),
        "connections": 50,
        "exchanges": 50,
        "open": 0,
    }
    ledger.reset()
    assert ledger.snapshot()["totals"] == {
        "received": 0,
        "sent": 0,
        "connections": 0,
        "exchanges": 0,
        "open": 0,
    }


def test_ledger_prunes_rarely_with_many_open_connections():
    """10,000 open sockets must not make every new connection scan them all."""
    from agentload.mock.ledger import ByteLedger

    ledger = ByteLedger(max_exchanges=100_000, max_closed=100)
    scans = 0
    real = ledger.forget_closed

    def counted(keep: int) -> None:
        nonlocal scans
        scans += 1
        real(keep)

    ledger.forget_closed = counted  # type: ignore[method-assign]
    for i in range(5000):
        ledger.open(f"127.0.0.1:{i}")  # all stay open
    assert scans <= 5000 // 100, scans
    assert len(ledger.connections) == 5000


def test_a_close_frame_read_with_the_last_message_is_the_close_exchange_s() -> None:
    """A client cut off right after a request sends its close frame at once: both can arrive in one
    read, and the message's exchange (marked when it is handed over) would hold the close's bytes too.
    Its exact size (a control frame) moves them to the close exchange."""
    ledger = ByteLedger()
    conn = ledger.open("127.0.0.1:1")
    conn.rx += 300  # the upgrade request
    conn.mark(ledger, "ws-handshake", "/v1/responses")
    conn.rx += 4357 + 8  # the message and the 8-byte close frame (code 1000, masked), in one read
    message = conn.mark(ledger, "ws-message", "/v1/responses")
    close = conn.mark(ledger, "ws-close", "/v1/responses", frame=8)
    got = {e["kind"]: e["received"] for e in ledger.snapshot()["exchanges"]}
    assert got == {"ws-handshake": 300, "ws-message": 4357, "ws-close": 8}
    assert message.rx_mark == close.rx_start
    # a close that came on its own read changes nothing
    conn.rx += 500
    conn.mark(ledger, "ws-message", "/v1/responses")
    conn.rx += 8
    conn.mark(ledger, "ws-close", "/v1/responses", frame=8)
    assert [e["received"] for e in ledger.snapshot()["exchanges"]][-2:] == [500, 8]
