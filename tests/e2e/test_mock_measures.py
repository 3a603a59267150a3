"""The mock's measurements: the latency model and the exact byte ledger."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import openai
from openai.types.responses import (
    FunctionToolParam,
    Response,
    ResponseFunctionToolCall,
    ResponseInputParam,
    ResponseStreamEvent,
)

from agentload.mock import MockProcess
from agentload.mock.prompt_cache import reported

TTFT_MS, PREFILL_MS_PER_1K, CACHED_MS_PER_1K = 150.0, 40.0, 5.0


def _first_delta_ms(stream: Iterable[ResponseStreamEvent]) -> tuple[float, Response]:
    t0 = time.perf_counter()
    first = None
    final = None
    for event in stream:
        if first is None and event.type.endswith(".delta"):
            first = (time.perf_counter() - t0) * 1000
        if event.type == "response.completed":
            final = event.response
    assert first is not None and final is not None, "no delta, or no response.completed"
    return first, final


def test_ttft_follows_the_latency_model(start_mock: Callable[..., MockProcess]) -> None:
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
    read: FunctionToolParam = {"type": "function", "name": "read_file", "parameters": {}, "strict": False}
    measured, final = _first_delta_ms(
        client.responses.create(model="m", input=big, tools=[read], stream=True, store=True)
    )
    u = final.usage
    assert u is not None
    expected = TTFT_MS + PREFILL_MS_PER_1K * (u.input_tokens - u.input_tokens_details.cached_tokens) / 1000
    assert u.input_tokens_details.cached_tokens == 0 and u.input_tokens > 8000
    assert abs(measured - expected) < 10, (measured, expected)
    # continuation from the stored response: its context is cached, so the prefill is cheap
    called = [o for o in final.output if isinstance(o, ResponseFunctionToolCall)]
    assert len(called) == len(final.output), final.output  # (the mock's model "m" only calls tools)
    calls: ResponseInputParam = [
        {"type": "function_call_output", "call_id": o.call_id, "output": "ok"} for o in called
    ]
    measured2, final2 = _first_delta_ms(
        client.responses.create(
            model="m", previous_response_id=final.id, input=calls, stream=True, store=True
        )
    )
    u2 = final2.usage
    assert u2 is not None
    cached = u2.input_tokens_details.cached_tokens
    assert cached == reported(u.total_tokens) > 0  # the held context, in whole 128-token blocks
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


def test_byte_ledger_equals_bytes_on_the_client_socket(start_mock: Callable[..., MockProcess]) -> None:
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


def test_mock_cli_errors_are_one_line(tmp_path: Path) -> None:
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
