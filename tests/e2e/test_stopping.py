"""One way to stop: a signal ends a run as its --run-time does (every attempt recorded, the outputs
complete, exit 0, no traceback, no process or socket left), a second signal ends it at once, and sweeps
and fleets pass the signal on and leave nothing behind. A broken target is never hammered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from agentload.launch import procs
from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import read_records
from tests.servers import wait_for

MOCK = ("--ttft-ms", "50", "--output-tps", "400")


def _start(cmd: list[str], tmp: Path) -> subprocess.Popen[bytes]:
    return procs.start(cmd, cwd=ROOT, stdout=(tmp / "out.log").open("w"), stderr=(tmp / "err.log").open("w"))


def _tasks_recorded(folder: Path) -> bool:
    return any('"kind":"task"' in f.read_text() for f in folder.glob("records*.jsonl"))


def _group_gone(proc: subprocess.Popen[bytes]) -> bool:
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return True
    return False


def _output(tmp: Path) -> str:
    return (tmp / "out.log").read_text() + (tmp / "err.log").read_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_run_as_its_run_time_would(
    start_mock: Callable[..., MockProcess], tmp_path: Path, sig: int
) -> None:
    mock = start_mock(*MOCK)
    cmd = locust_argv(
        "--host", mock.url, "-u", "10", "-r", "10", "--run-time", "120s", "--tool-latency-scale", "0.2",
        "--records", str(tmp_path / "records.jsonl"), "--summary-json", str(tmp_path / "summary.json"),
        "--only-summary",
    )  # fmt: skip
    proc = _start(cmd, tmp_path)
    try:
        wait_for(lambda: _tasks_recorded(tmp_path), 45, "the agents' first tasks in the records")
        time.sleep(1.0)  # agents in every phase: waiting for tokens, streaming, running tools
        os.kill(proc.pid, sig)
        rc = proc.wait(40)
    finally:
        procs.stop_group(proc, grace_s=5)
    out = _output(tmp_path)
    assert rc == 0, out[-3000:]
    assert "Traceback" not in out and "per-strategy comparison" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    t = summary["turns"]
    assert t["started"] == t["ok"] + t["failed"] + t["interrupted"] and t["failed"] == 0, t
    records = read_records(tmp_path / "records.jsonl")  # every line complete JSON
    assert sum(r["kind"] == "turn" for r in records) == t["started"]
    assert _group_gone(proc)
    wait_for(
        lambda: mock.stats(exchanges=False)["totals"]["open"] == 0, 10, "every socket closed at the mock"
    )


def test_a_second_signal_ends_the_run_at_once_and_keeps_the_records_file_whole(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--ttft-ms", "200", "--output-tps", "5")  # slow turns: the graceful stop takes long
    cmd = locust_argv(
        "--host", mock.url, "-u", "5", "-r", "5", "--run-time", "120s", "--stop-timeout", "60",
        "--records", str(tmp_path / "records.jsonl"), "--only-summary", "--strategy", "ws", "--reasoning-effort", "none",
    )  # fmt: skip
    proc = _start(cmd, tmp_path)
    try:
        wait_for(
            lambda: (
                any((tmp_path).glob("records*.jsonl")) and (tmp_path / "records.jsonl").stat().st_size > 0
            ),
            45,
            "the first records",
        )
        os.kill(proc.pid, signal.SIGTERM)
        # the first stop has begun, and waits for the agents' tasks (up to --stop-timeout 60)
        wait_for(lambda: "Got SIGTERM signal" in _output(tmp_path), 30, "the run to take the first SIGTERM")
        assert proc.poll() is None
        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(15)
        took = time.monotonic() - t0
    finally:
        procs.stop_group(proc, grace_s=5)
    out = _output(tmp_path)
    assert rc == 130 and took < 10, (rc, took, out[-2000:])
    assert "stopped at once" in out and "Traceback" not in out
    read_records(tmp_path / "records.jsonl")  # parses: no line cut short


def test_an_interrupted_fleet_stops_its_workers_and_writes_its_summary(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock(*MOCK)
    cmd = [sys.executable, "-m", "agentload", "fleet", "--workers", "2", "--", "--headless", "-u", "4", "-r", "4",
           "--run-time", "120s", "--strategy", "ws,http-stateless", "--host", mock.url, "--tool-latency-scale",
           "0.2", "--records", str(tmp_path / "records.jsonl"), "--summary-json", str(tmp_path / "summary.json"),
           "--only-summary"]  # fmt: skip
    proc = _start(cmd, tmp_path)
    try:
        wait_for(lambda: _tasks_recorded(tmp_path), 45, "the agents' first tasks in the records")
        fleet = psutil.Process(proc.pid)
        children = fleet.children(recursive=True)
        assert len(children) == 3  # the master and two workers
        os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C sends
        rc = proc.wait(90)
    finally:
        procs.stop_group(proc, grace_s=5)
    out = _output(tmp_path)
    assert rc == 0, out[-3000:]
    assert "per-strategy comparison" in out and "Traceback" not in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["missing_workers"] == [] and len(summary["workers"]) == 2
    t = summary["turns"]
    assert t["started"] == t["ok"] + t["failed"] + t["interrupted"], t
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_leaves_no_cell_running(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "agentload", "sweep", "--out", str(out), "--strategies", "ws,http-stateless",
           "--agents", "2", "--duration", "60", "--warmup", "1", "--processes", "1", "--task", "fix-failing-test"]  # fmt: skip
    proc = _start(cmd, tmp_path)
    try:
        wait_for(
            lambda: (
                _tasks_recorded(out / "cells" / "ws-a2-fix-failing-test-gpt-5.4")
                if (out / "cells").exists()
                else False
            ),
            45,
            "the first cell's first tasks",
        )
        everything = psutil.Process(proc.pid).children(recursive=True)
        assert len(everything) >= 3  # the mock, the cell's master and its worker
        os.kill(proc.pid, sig)  # Ctrl-C, or a process manager's stop
        rc = proc.wait(60)
    finally:
        procs.stop_group(proc, grace_s=5)
    assert rc == 130 and "interrupted" in _output(tmp_path)
    wait_for(
        lambda: not [p for p in everything if _alive(p)], 30, "the sweep's mock, master and worker to exit"
    )


def _alive(p: psutil.Process) -> bool:
    try:
        alive: bool = p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        return alive
    except psutil.NoSuchProcess:  # gone between the two questions
        return False


@pytest.mark.parametrize("strategy", ["ws", "http-stateless"])
def test_a_target_that_answers_404_to_everything_is_not_hammered(tmp_path: Path, strategy: str) -> None:
    """Python's http.server answers 404 to every GET (the WebSocket upgrade) and 501 to every POST."""
    from tests.servers import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_for(lambda: server.stderr is not None and _listening(port), 20, "http.server to listen")
        cmd = locust_argv("--host", f"http://127.0.0.1:{port}", "-u", "2", "-r", "2", "--run-time", "60s",
                          "--strategy", strategy, "--only-summary")  # fmt: skip
        t0 = time.monotonic()
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
    finally:
        server.terminate()
        _, log = server.communicate(timeout=10)
    requests = [line for line in log.splitlines() if '"GET /v1/responses' in line or '"POST /v1/' in line]
    assert run.returncode == 2 and took < 20, (run.returncode, took, run.stderr[-2000:])
    lines = [
        line for line in run.stderr.splitlines() if line.startswith("agentload: every task failed at once")
    ]
    assert len(lines) == 1 and "--host" in lines[0] and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert 0 < len(requests) <= 30, len(requests)  # 5 failed tasks, each with its own retries at most


def test_a_refused_key_without_the_start_up_check_stops_with_one_line(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--latency", "zero", env={"AGENTLOAD_MOCK_API_KEY": "sk-right"})
    run = subprocess.run(
        locust_argv("--host", mock.url, "-u", "5", "-r", "5", "--run-time", "60s", "--no-preflight", "--only-summary"),
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "OPENAI_API_KEY": "sk-wrong-x"},
    )  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    assert (
        "refuses the API key (HTTP 401): check OPENAI_API_KEY" in run.stderr
        and "sk-wrong-x" not in run.stderr
    )
    posts = [
        e for e in mock.stats()["exchanges"] if e["path"].startswith("/v1/") and e["path"] != "/v1/models"
    ]
    assert len(posts) <= 25, len(posts)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_json_output_is_only_json_on_stdout(start_mock: Callable[..., MockProcess], tmp_path: Path) -> None:
    mock = start_mock("--latency", "zero")
    run = subprocess.run(
        locust_argv("--host", mock.url, "-u", "5", "-r", "5", "--run-time", "3s", "--json", "--tool-latency-scale", "0"),
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads(run.stdout)
    assert {e["name"] for e in stats} >= {"turn", "ttft", "task"}
    assert "per-strategy comparison" in run.stderr  # the table went to stderr
