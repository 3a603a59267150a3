"""Reliability: timeouts by phase, fuzzed requests against the mock, one-line start-up errors, and the
web UI on loopback.

Real parts only: the mock as a process, Locust as a process, Debian's InfluxDB with authentication on.
The agents' transports run in this process on gevent sockets, as they do inside a Locust worker.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from hypothesis import HealthCheck, given, settings

from agentload.client import ChatHttp, ResponsesHttp, ResponsesWebSocket, Timeouts, Transport, api_base
from agentload.client.wire.websocket import WsConnection
from agentload.core.records import ErrorKind
from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import run_briefly
from tests.servers import InfluxDB1, free_port
from tests.unit.request_bodies import BODY, CHAT, CREATE, JSON, error_shape

# a client's tool, as every agent declares some: the mock answers with calls of it (a stream of many
# events after the first token, where a fault strikes mid-output), never a tool the client did not declare
READ = {"type": "function", "name": "read_file", "parameters": {"type": "object", "properties": {}}}
HTTP_BODY = {"model": "gpt-5.4", "input": "Fix the failing test.", "stream": True, "tools": [READ]}
WS_BODY = {"type": "response.create", "model": "gpt-5.4", "input": "Fix the failing test.", "tools": [READ]}
CHAT_BODY = {
    "model": "gpt-5.4",
    "messages": [{"role": "user", "content": "Fix the failing test."}],
    "tools": [{"type": "function", "function": {k: v for k, v in READ.items() if k != "type"}}],
    "stream": True,
}


def _transports(url: str, t: Timeouts) -> list[tuple[Transport, dict[str, Any]]]:
    base = api_base(url)
    return [
        (ResponsesWebSocket(base, {}, t), WS_BODY),
        (ResponsesHttp(base, {}, t), HTTP_BODY),
        (ChatHttp(base, {}, t), CHAT_BODY),
    ]


@pytest.mark.parametrize(
    ("fault", "timeouts", "code"),
    [
        ("slow_first_byte", Timeouts(2.0, 0.7, 5.0), "first_token_timeout"),
        ("stall", Timeouts(2.0, 5.0, 0.5), "idle_timeout"),
    ],
)
def test_timeouts_are_classified_by_phase_and_the_next_turn_succeeds(
    start_mock: Callable[..., MockProcess], fault: str, timeouts: Timeouts, code: str
) -> None:
    """Every second response is faulted (every:2): ok, timeout of the named phase, ok again on a new
    connection, for each transport."""
    mock = start_mock(
        "--latency", "zero", "--ttft-ms", "20", "--output-tps", "2000",
        "--faults", f"{fault}=every:2", "--fault-slow-s", "3", "--fault-stall-s", "3",
    )  # fmt: skip
    for transport, body in _transports(mock.url, timeouts):
        outcomes = [transport.exchange(dict(body)) for _ in range(3)]
        transport.close()
        name = type(transport).__name__
        assert [o.ok for o in outcomes] == [True, False, True], (name, [o.error_message for o in outcomes])
        failed = outcomes[1]
        assert (failed.error_kind, failed.error_code) == (ErrorKind.TIMEOUT, code), (name, failed)
        assert "--" in (failed.error_message or "")  # names the flag to change
    assert mock.stats(exchanges=False)["faults"]["injected"][fault] == 3


def test_a_server_that_never_answers_is_a_connect_timeout_for_websockets_and_first_token_for_http() -> None:
    """A listener that accepts (the kernel does) and never says a word."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    t = Timeouts(0.5, 0.5, 0.5)
    try:
        ws, body = _transports(url, t)[0]
        out = ws.exchange(dict(body))
        assert (out.error_kind, out.error_code) == (ErrorKind.TIMEOUT, "connect_timeout")
        http_t, body = _transports(url, t)[1]
        out = http_t.exchange(dict(body))
        assert (out.error_kind, out.error_code) == (ErrorKind.TIMEOUT, "first_token_timeout")
    finally:
        silent.close()
    # and nothing listening at all: a connection failure, classified, not an exception
    out = ResponsesHttp(api_base(url), {}, t).exchange(dict(HTTP_BODY))
    assert (out.error_kind, out.error_code) == (ErrorKind.CONNECTION, "connect_failed")


def test_unknown_events_are_ignored_and_every_stream_fault_is_classified(
    start_mock: Callable[..., MockProcess],
) -> None:
    mock = start_mock("--latency", "zero", "--faults", "unknown_event=every:1")
    for transport, body in _transports(mock.url, Timeouts(2, 5, 5)):
        out = transport.exchange(dict(body))
        assert out.ok, (type(transport).__name__, out.error_message)
    assert mock.stats(exchanges=False)["faults"]["injected"]["unknown_event"] == 3
    expected: dict[str, dict[str, str | None]] = {
        "drop": {"ws": "ws_close_1006", "http": "connection_lost"},
        "truncated": {"ws": "ws_close_1000", "http": "truncated_stream"},
        "malformed": {"ws": "malformed_event", "http": "malformed_event"},
        "close_1011": {"ws": "ws_close_1011"},
        "connection_limit": {"ws": "websocket_connection_limit_reached"},
        "http_503": {"ws": None, "http": None},
    }
    for fault, codes in expected.items():
        mock = start_mock("--latency", "zero", "--faults", f"{fault}=every:1")
        for transport, body in _transports(mock.url, Timeouts(2, 5, 5)):
            kind = "ws" if isinstance(transport, ResponsesWebSocket) else "http"
            if kind not in codes:
                continue
            out = transport.exchange(dict(body))
            transport.close()
            assert not out.ok and out.error_code == codes[kind], (fault, kind, out)
            if fault == "http_503":
                assert (out.error_kind, out.http_status) == (ErrorKind.SERVER, 503)
        mock.stop()


# ---------------------------------------------------------------------------------- fuzzing
def assert_no_internal_error(mock: MockProcess) -> None:
    """The mock logs every 500 it answers ("internal error on ..."), with its traceback."""
    assert not [line for line in mock.log_tail if "internal error" in line or "Traceback" in line]


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[MockProcess]:
    from agentload.mock import MockProcess

    with MockProcess(["--latency", "zero"]) as m:
        yield m


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(responses=BODY, chat=CHAT.map(lambda v: json.dumps(v).encode()) | BODY)
def test_the_mock_answers_any_http_body_with_200_or_a_400_never_500(
    fuzz_mock: MockProcess, responses: bytes, chat: bytes
) -> None:
    u = urlsplit(fuzz_mock.url)
    assert u.hostname is not None
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        for path, body in (("/v1/responses", responses), ("/v1/chat/completions", chat)):
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status in (200, 400), (path, body, resp.status, data[:300])
            if resp.status == 400:
                assert error_shape(json.loads(data)), data
    finally:
        conn.close()
    assert_no_internal_error(fuzz_mock)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=CREATE.map(lambda v: {"type": "response.create", **v}) | JSON)
def test_the_mock_answers_any_websocket_message_with_events_or_a_400_error_event(
    fuzz_mock: MockProcess, message: Any
) -> None:
    base = api_base(fuzz_mock.url).replace("http://", "ws://") + "/responses"
    conn = WsConnection(base, {}, network_timeout=10)
    conn.connect()
    try:
        conn.send_text(json.dumps(message).encode())
        while True:
            event = json.loads(conn.recv_message())
            if event["type"] == "error":
                assert event["status"] == 400 and error_shape(event), event
                break
            if event["type"] in ("response.completed", "response.failed"):
                break
    finally:
        conn.close()
    assert_no_internal_error(fuzz_mock)


# ---------------------------------------------------------------------------------- start-up errors
def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("agentload:")]
    assert len(lines) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_an_unreachable_host_and_a_wrong_key_stop_the_run_with_one_line(
    start_mock: Callable[..., MockProcess],
) -> None:
    port = free_port()
    _one_line_error(
        run_briefly("--host", f"http://127.0.0.1:{port}", run_time="2s"),
        "--host",
        "cannot connect",
        "Connection refused",
    )
    key = "sk-right-" + secrets.token_hex(8)
    wrong = "sk-wrong-" + secrets.token_hex(8)
    mock = start_mock("--latency", "zero", env={"AGENTLOAD_MOCK_API_KEY": key})
    proc = run_briefly("--host", mock.url, run_time="2s", env={"OPENAI_API_KEY": wrong})
    line = _one_line_error(proc, "API key was refused", "HTTP 401", "OPENAI_API_KEY")
    assert wrong not in proc.stdout + proc.stderr and key not in line


def test_an_influxdb_that_answers_401_stops_the_run_with_one_line(
    tmp_path: Path, start_mock: Callable[..., MockProcess]
) -> None:
    influx = InfluxDB1(tmp_path / "influxd", auth=True).start()
    try:
        mock = start_mock("--latency", "zero")
        password = "wrong-" + secrets.token_hex(8)
        proc = run_briefly(
            "--host", mock.url, "--influx-url", influx.url, "--influx-db", "agentload",
            run_time="2s", env={"INFLUX_TOKEN": f"admin:{password}"},
        )  # fmt: skip
        _one_line_error(proc, "--influx-url", "401", "INFLUX_TOKEN")
        assert password not in proc.stdout + proc.stderr
    finally:
        influx.stop()


def test_the_web_ui_binds_loopback_unless_told(start_mock: Callable[..., MockProcess]) -> None:
    mock = start_mock("--latency", "zero")
    port = free_port()
    proc = subprocess.Popen(
        locust_argv("--host", mock.url, "--web-port", str(port), "--autostart", "--autoquit", "1",
                    "-u", "1", "--strategy", "ws", "--run-time", "6s", headless=False),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        listening: list[str] = []
        while time.monotonic() < deadline and not listening:
            time.sleep(0.3)
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
                listening += [
                    c.laddr.ip
                    for c in p.net_connections(kind="tcp")
                    if c.status == psutil.CONN_LISTEN and c.laddr.port == port
                ]
        assert listening == ["127.0.0.1"], listening
    finally:
        proc.terminate()
        proc.wait(30)
