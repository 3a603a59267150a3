"""agentload against a server that is not its mock (#28, part 5): the real Locust process against
tests/other_server.py, a small OpenAI-compatible server on loopback that misbehaves as real ones do.

- At its own base path (``--host http://127.0.0.1:N/openai/v1``, nothing served at /v1), with an empty
  ``"delta": ""`` EMPTY_LEAD_S before each first piece of output and no usage: every strategy's turns
  go to the base path, TTFT includes the lead, and the tokens are unknown, counted, never 0.
- Its WebSocket upgrade answered with nothing or with a page: the run stops at once, naming it.
- A 400 in LiteLLM's words (``no_db_connection``, echoing the key) to the start-up check, or to every
  first request: the run stops with the server's type and message, the key never shown.

Each run is bounded by --run-time and a timeout; the stops take seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentload.launch.locust import locust_argv
from tests.other_server import EMPTY_LEAD_S
from tests.paths import ROOT
from tests.runlocust import read_records, run_group
from tests.servers import free_port, wait_for

BASE = "/openai/v1"
KEY = "sk-proj-e2e-secret-0123456789abcdef"  # what the refusing server echoes back


@dataclass
class OtherServer:
    url: str  # its API base: http://127.0.0.1:N/openai/v1
    log: Path

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request it got."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [(m, p) for m, _, p in (line.partition(" ") for line in lines) if m in ("GET", "POST")]


@pytest.fixture
def other_server(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> OtherServer:
        port = free_port()
        log = tmp_path / f"server-{port}.log"  # its requests; what it says on stderr apart
        with log.open("wb") as out, (tmp_path / f"server-{port}.err").open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.other_server", "--port", str(port), "--base", BASE, *args],
                cwd=ROOT, stdout=out, stderr=err,
            )  # fmt: skip
        started.append(proc)
        wait_for(lambda: _listening(port) or proc.poll() is not None, 20, "the other server to listen")
        assert proc.poll() is None, log.read_text()
        return OtherServer(f"http://127.0.0.1:{port}{BASE}", log)

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _locust(
    host: str, *args: str, key: str = "", timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    if key:
        env["OPENAI_API_KEY"] = key
    t0 = time.monotonic()
    proc = run_group(locust_argv("--host", host, "--only-summary", *args), timeout, cwd=ROOT, env=env)
    return proc, time.monotonic() - t0


def _stop_line(proc: subprocess.CompletedProcess[str]) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, (proc.returncode, out[-3000:])
    assert "Traceback" not in out, out[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("agentload:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def test_a_server_at_its_own_base_path_with_empty_deltas_and_no_usage(
    other_server: Any, tmp_path: Path
) -> None:
    server = other_server("--ws", "serve")
    records = tmp_path / "records.jsonl"
    summary = tmp_path / "summary.json"
    proc, _ = _locust(
        server.url, "-u", "3", "-r", "3", "--run-time", "4s", "--strategy", "http-stateless,ws,chat",
        "--records", str(records), "--summary-json", str(summary), "--stop-timeout", "10",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    turns = [r for r in read_records(records) if r["kind"] == "turn" and r["error_kind"] != "interrupted"]
    assert {r["strategy"] for r in turns} == {"http-stateless", "ws", "chat"}, turns[:3]
    assert all(r["ok"] for r in turns), [r for r in turns if not r["ok"]][:3]
    # the first token is the first piece of output, not the empty delta before it
    assert min(r["ttft_ms"] for r in turns) >= EMPTY_LEAD_S * 1000 * 0.9, sorted(r["ttft_ms"] for r in turns)[
        :5
    ]
    # no usage: unknown (null), never 0, and counted
    assert all(r[f] is None for r in turns for f in ("input_tokens", "cached_tokens", "output_tokens")), (
        turns[0]
    )
    tasks = [r for r in read_records(records) if r["kind"] == "task" and r["ok"]]
    assert tasks and all(t["usage_unknown_turns"] == t["turns"] for t in tasks), tasks[0]
    rows = {r["strategy"]: r for r in json.loads(summary.read_text())["rows"]}
    for name, row in rows.items():
        assert row["usage_unknown_turns"] == row["turns"] - row["turn_failures"] > 0, (name, row)
        assert row["cached_share"] is None, (name, row)
    assert "usage unknown on" in proc.stdout + proc.stderr
    # every request at the base path (the mock-only /_agentload/tasks at the root, answered 404)
    paths = {p for _, p in server.requests()}
    api = {p for p in paths if not p.startswith("/_agentload/")}
    assert api == {f"{BASE}/models", f"{BASE}/responses", f"{BASE}/chat/completions"}, paths


@pytest.mark.parametrize(
    ("ws", "answered"),
    [("empty", "no answer: the connection was closed"), ("page", "HTTP 200, text/html")],
)
def test_a_refused_websocket_upgrade_stops_the_run_and_says_what_the_server_answered(
    other_server: Any, ws: str, answered: str
) -> None:
    server = other_server("--ws", ws)
    proc, took = _locust(server.url, "-u", "2", "-r", "2", "--run-time", "60s", "--strategy", "ws")
    line = _stop_line(proc)
    assert f"refuses the WebSocket upgrade at {BASE}/responses ({answered}" in line, line
    assert "--strategy http-stateless" in line and took < 30, (line, took)
    upgrades = [p for m, p in server.requests() if m == "GET" and p == f"{BASE}/responses"]
    assert 0 < len(upgrades) <= 10, len(upgrades)  # 5 tasks, not retried (was: 30 in 20 s)


def test_a_400_to_the_start_up_check_stops_the_run_at_start_with_the_servers_words(other_server: Any) -> None:
    server = other_server("--refuse", "models")
    proc, _ = _locust(server.url, "-u", "2", "-r", "2", "--run-time", "30s", key=KEY)
    line = _stop_line(proc)
    assert f"GET {BASE}/models answers HTTP 400 (no_db_connection, 400: No connected db." in line, line
    assert KEY not in proc.stdout + proc.stderr and "3e4f5a6b" not in line, line
    assert [m for m, _ in server.requests() if m == "POST"] == []  # before any turn


def test_a_400_on_every_first_request_stops_with_the_servers_words(other_server: Any) -> None:
    server = other_server("--refuse", "turns")
    proc, took = _locust(
        server.url, "-u", "2", "-r", "2", "--run-time", "60s", "--strategy", "http-stateless", key=KEY
    )
    line = _stop_line(proc)
    assert line.startswith("agentload: every task failed at once"), line
    assert "no_db_connection" in line and "No connected db. Received API Key = [redacted]" in line, line
    assert KEY not in proc.stdout + proc.stderr and "3e4f5a6b" not in line, line
    posts = [p for m, p in server.requests() if m == "POST"]
    assert 0 < len(posts) <= 10 and took < 30, (len(posts), took)


def test_a_server_without_the_conversations_api_stops_http_conversation_named(other_server: Any) -> None:
    """http-conversation makes a Conversation first; a server that answers 404 to it (this one serves
    no /conversations) stops the run with a line that names the API and the other strategies."""
    server = other_server()
    proc, took = _locust(
        server.url, "-u", "2", "-r", "2", "--run-time", "60s", "--strategy", "http-conversation"
    )
    line = _stop_line(proc)
    assert f"answers HTTP 404 to POST {BASE}/conversations" in line and "Conversations API" in line, line
    assert "--strategy without http-conversation" in line and took < 30, (line, took)
    made = [p for m, p in server.requests() if m == "POST" and p == f"{BASE}/conversations"]
    assert 0 < len(made) <= 10 and not [p for _, p in server.requests() if p.endswith("/responses")], made
