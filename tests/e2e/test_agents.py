"""The agents end to end: the real locust command, every strategy, against the mock.

Checks what the agents issue asks: no failures with 8 agents of each strategy; the client's per-turn
byte counts equal the mock's server-side counters exactly (an http-conversation task's first turn with
its conversation's creation); the built-in tasks reproduce the published
shape (WebSocket sends 80-86 % fewer bytes than stateless HTTP; by turn 9 stateless HTTP sends 8x more).
Each runs twice: over plain TCP, and over TLS (https and wss, the mock's certificate from a throwaway
CA that the agents trust through SSL_CERT_FILE), where both sides count the bytes inside TLS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentload.core.strategies import NAMES as STRATEGIES
from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess
from tests.runlocust import MockedRun, read_records, run_locust
from tests.servers import make_tls_files


@pytest.fixture(scope="module", params=["tcp", "tls"])
def fleet_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MockedRun:
    """Every strategy, 8 agents each, 8 s. Over TCP the model reasons (gpt-5.4 at its default effort, as a
    user's run does); over TLS it is told not to (--reasoning-effort none), the published harness's
    shape, which resends no reasoning."""
    from agentload.mock import MockProcess

    tmp = tmp_path_factory.mktemp("fleet")
    mock_args, env = ["--latency", "zero"], None
    if request.param == "tls":
        ca, cert, key = make_tls_files(tmp)
        mock_args += ["--tls-cert", str(cert), "--tls-key", str(key)]
        env = {"SSL_CERT_FILE": str(ca)}
    with MockProcess(mock_args, env=env) as mock:
        assert mock.url.startswith("https://" if request.param == "tls" else "http://")
        effort = ["--reasoning-effort", "none"] if request.param == "tls" else []
        proc, summary = run_locust(
            mock.url,
            tmp,
            "-u",
            str(8 * len(STRATEGIES)),
            "-r",
            str(8 * len(STRATEGIES)),
            "--run-time",
            "8s",
            "--tool-latency-scale",
            "0",
            *effort,
            env=env,
        )
        stats = mock.stats()
    return proc, summary, read_records(tmp / "records.jsonl"), stats


def test_eight_agents_of_each_strategy_without_failures(fleet_run: MockedRun) -> None:
    proc, summary, records, _ = fleet_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["strategy"]: r for r in summary["rows"]}
    assert set(rows) == set(STRATEGIES)
    for name, row in rows.items():
        assert row["tasks"] >= 8, (name, row)
        assert row["failed_tasks"] == 0 and row["turn_failures"] == 0, (name, row)
    agents = {(r["strategy"], r["agent"]) for r in records if r["kind"] == "task"}
    for s in STRATEGIES:
        assert sum(1 for st, _ in agents if st == s) == 8
    assert "per-strategy comparison" in proc.stdout


def test_client_bytes_equal_server_counters_per_turn(fleet_run: MockedRun) -> None:
    _, _, records, stats = fleet_run
    exchanges = {e["response_id"]: e for e in stats["exchanges"] if e["response_id"]}
    handshakes = {e["connection"]: e for e in stats["exchanges"] if e["kind"] == "ws-handshake"}
    before: dict[int, dict[str, Any]] = {}  # each exchange's connection's exchange before it
    last: dict[int, dict[str, Any]] = {}
    for e in stats["exchanges"]:
        if e["connection"] in last:
            before[id(e)] = last[e["connection"]]
        last[e["connection"]] = e
    turns = [r for r in records if r["kind"] == "turn"]
    assert len(turns) > 500
    # a turn the run's end cut off has no response id to pair it with (it still counts in the total)
    assert sum(t["error_kind"] == "interrupted" for t in turns) <= 48  # at most one per agent
    for t in turns:
        if t["error_kind"] == "interrupted":
            continue
        ex = exchanges[t["response_id"]]
        sent, received = ex["received"], ex["sent"]
        if t["connect_bytes_sent"]:
            hs = handshakes[ex["connection"]]
            assert (t["connect_bytes_sent"], t["connect_bytes_received"]) == (hs["received"], hs["sent"])
            sent, received = sent + hs["received"], received + hs["sent"]
        if t["strategy"] == "http-conversation" and t["turn"] == 0:  # its conversation made first
            made = before[id(ex)]
            assert made["path"] == "/v1/conversations", made
            sent, received = sent + made["received"], received + made["sent"]
        assert (t["bytes_sent"], t["bytes_received"]) == (sent, received), t
    # and in total: every byte the server counted on the agents' connections belongs to a turn,
    # a handshake, a WebSocket close or the one start-up check (GET /v1/models, agentload.preflight)
    turn_total = sum(t["bytes_sent"] for t in turns)
    closes = sum(e["received"] for e in stats["exchanges"] if e["kind"] == "ws-close")
    checks = [e for e in stats["exchanges"] if e["path"] == "/v1/models"]
    assert len(checks) == 1
    assert stats["totals"]["received"] == turn_total + closes + checks[0]["received"]


def test_builtin_tasks_reproduce_published_shape(fleet_run: MockedRun) -> None:
    _, summary, records, stats = fleet_run
    rows = {r["strategy"]: r for r in summary["rows"]}
    http, ws = rows["http-stateless"], rows["ws"]
    reasons = any(r["reasoning_tokens"] for r in records if r["kind"] == "task")
    assert 20_000 <= ws["sent_per_task"] <= 35_000, ws  # a continuation sends no reasoning either way
    if reasons:
        # store=false over stateless HTTP resends every earlier turn's encrypted reasoning: more bytes
        # than the published figures, and a larger WebSocket saving
        assert http["sent_per_task"] > 200_000 and ws["sent_reduction"] > 0.86, (http, ws)
        assert stats["model"]["input_items"].get("reasoning", 0) > 0, stats["model"]
    else:
        assert 150_000 <= http["sent_per_task"] <= 180_000, http
        assert 0.80 <= ws["sent_reduction"] <= 0.86, ws
    assert http["turn9_sent"] >= 8 * ws["turn9_sent"], (http["turn9_sent"], ws["turn9_sent"])
    # the summary's numbers are recomputed from the records
    tasks = [r for r in records if r["kind"] == "task" and r["strategy"] == "ws" and r["ok"]]
    assert ws["sent_per_task"] == pytest.approx(sum(r["bytes_sent"] for r in tasks) / len(tasks))
    # continuation is served from the connection's cache: most input tokens of a WebSocket task are
    # cached; stateless resends hit the prompt cache for their repeated prefix, as at OpenAI
    assert ws["cached_share"] > 0.8 and 0.3 < http["cached_share"] < ws["cached_share"], (ws, http)


def test_web_ui_agents_tab_shows_bytes_per_turn_and_ttft(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """The web UI (bounded: --autostart, --run-time, --autoquit) serves the Agents tab's data."""
    import json
    import re
    import socket
    import subprocess
    import time
    import urllib.request

    from tests.paths import ROOT

    mock = start_mock("--latency", "zero")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        locust_argv(
            "--host",
            mock.url,
            "--web-host",
            "127.0.0.1",
            "--web-port",
            str(port),
            "--autostart",
            "-u",
            str(len(STRATEGIES)),
            "-r",
            str(len(STRATEGIES)),
            "--run-time",
            "6s",
            "--autoquit",
            "3",
            "--tool-latency-scale",
            "0",
            headless=False,
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        rows: list[dict[str, Any]] = []
        page = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            len(rows) == len(STRATEGIES) and all(r["turn9_kb"] != "-" for r in rows)
        ):
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats/requests", timeout=5) as r:
                    ext = json.loads(r.read()).get("extended_stats", [])
                rows = next(e["data"] for e in ext if e["key"] == "agentload")
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    page = r.read().decode()
            except OSError:
                continue
        assert {r["strategy"] for r in rows} == set(STRATEGIES)
        by = {r["strategy"]: r for r in rows}
        assert float(by["http-stateless"]["turn9_kb"]) > 8 * float(by["ws"]["turn9_kb"])
        assert float(by["ws"]["ttft_p50_ms"]) >= 0 and float(by["ws"]["ttft_p99_ms"]) >= float(
            by["ws"]["ttft_p50_ms"]
        )
        # the reduction with its 95 % interval, as the end-of-run table prints it
        assert re.fullmatch(r"-\d+\.\d % \(-\d+\.\d to -\d+\.\d\)", by["ws"]["sent_vs_stateless"]), by["ws"]
        assert by["http-stateless"]["sent_vs_stateless"] == "-"
        assert '"extended_tabs"' in page or "extended_tabs" in page
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()[-2000:] if proc.stderr else ""


def test_websocket_agents_recover_from_connection_lifetime(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """With a 1 s connection lifetime, every connection ends with websocket_connection_limit_reached
    mid-task: agents reconnect, resend (ws) or continue from the store (ws-stored), and no task fails."""
    mock = start_mock("--ws-lifetime", "1", "--ttft-ms", "20", "--output-tps", "4000")
    proc, summary = run_locust(
        mock.url,
        tmp_path,
        "-u",
        "4",
        "-r",
        "4",
        "--run-time",
        "5s",
        "--strategy",
        "ws,ws-stored",
        "--tool-latency-scale",
        "0.05",
    )
    rows = {r["strategy"]: r for r in summary["rows"]}
    for name in ("ws", "ws-stored"):
        assert rows[name]["retries"] > 0, (rows[name], proc.stderr[-2000:])
        assert rows[name]["failed_tasks"] == 0 and rows[name]["tasks"] > 0, rows[name]
        assert set(rows[name]["failures"]) <= {"websocket_connection_limit_reached", "connection"}
    records = read_records(tmp_path / "records.jsonl")
    recovered = [r for r in records if r["kind"] == "turn" and r["recovery"] and r["ok"]]
    assert recovered and all(r["strategy"] == "ws" for r in recovered)  # ws-stored continues, no resend
    assert rows["ws"]["recoveries"] > 0 and rows["ws-stored"]["recoveries"] == 0
