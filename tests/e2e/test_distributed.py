"""Distributed runs on Locust's own master/worker runner, started with ``agentload fleet``: a master and
two worker processes on loopback with agents of two strategies. The master's totals equal the sum of
the workers' records; and with one worker killed mid-run the other goes on and the master names it.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from agentload.launch import procs
from agentload.launch.locust import FINAL_REPORT_MARGIN_S
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import read_records


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess(["--ttft-ms", "30", "--output-tps", "2000"]) as m:
        yield m


def fleet(host: str, tmp: Path, run_time: str) -> subprocess.Popen[str]:
    """The fleet in a process group of its own: ``procs.stop_group`` ends it, whatever a test left."""
    cmd = [sys.executable, "-m", "agentload", "fleet", "--workers", "2", "--"]
    cmd += ["--headless", "-u", "8", "-r", "8", "--run-time", run_time, "--strategy", "ws,http-stateless"]
    cmd += ["--host", host, "--tool-latency-scale", "0.05", "--stop-timeout", "5", "--only-summary"]
    cmd += ["--records", str(tmp / "records.jsonl"), "--summary-json", str(tmp / "summary.json")]
    return procs.start(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_masters_totals_equal_the_sum_of_the_workers_records(mock: MockProcess, tmp_path: Path) -> None:
    proc = fleet(mock.url, tmp_path, "8s")
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        procs.stop_group(proc)
    assert proc.returncode == 0, err[-3000:]
    files = sorted(tmp_path.glob("records.*.jsonl"))
    assert len(files) == 2, files  # one per worker process
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["missing_workers"] == [] and len(summary["workers"]) == 2
    records = read_records(tmp_path / "records.jsonl")
    by: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        s = by[r["strategy"]]
        if r["kind"] == "turn":
            s["turns"] += 1
        elif r["ok"]:
            s["tasks"] += 1
            s["sent"] += r["bytes_sent"]
    rows = {r["strategy"]: r for r in summary["rows"]}
    assert set(rows) == {"ws", "http-stateless"}
    for name, row in rows.items():
        assert row["tasks"] == by[name]["tasks"] > 0, name
        assert row["turns"] + row["turns_interrupted"] == by[name]["turns"] == row["turns_started"], name
        assert row["sent_per_task"] == pytest.approx(by[name]["sent"] / by[name]["tasks"]), name
    for f in files:  # the agents really ran on both workers
        assert any(r["kind"] == "task" for r in read_records(f)), f.name


def test_the_run_survives_a_killed_worker_and_the_master_reports_it(
    mock: MockProcess, busy_neighbor: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """On a busy machine (a CPU-bound process beside it): one worker killed mid-run, the master moves its
    agents onto the other, every strategy keeps running, and the master names the lost worker."""
    proc = fleet(mock.url, tmp_path, "24s")
    try:
        fleet_proc = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = [p for p in fleet_proc.children() if "--worker" in p.cmdline()]
        assert len(workers) == 2
        deadline = time.monotonic() + 60
        while not (len(list(tmp_path.glob("records.*.jsonl"))) == 2 and all(
            '"kind":"task"' in f.read_text() for f in tmp_path.glob("records.*.jsonl")
        )):  # fmt: skip
            assert time.monotonic() < deadline, "the agents did not start working on both workers"
            time.sleep(0.5)
        killed_at = time.time()
        workers[0].send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=180)
    finally:
        procs.stop_group(proc)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["missing_workers"]) == 1, summary["missing_workers"]
    assert "no final report from 1 worker" in err + out
    # the master knew the worker was gone: it did not wait out the final reports' margin for it
    stamps = {
        what: datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for what, needle in (("stop", "--run-time limit reached"), ("named", "no final report from 1 worker"))
        if (m := re.search(r"\[([\d-]+ [\d:,]+)\][^\n]*" + re.escape(needle), err + out))
    }
    assert len(stamps) == 2, (err + out)[-3000:]
    assert (stamps["named"] - stamps["stop"]).total_seconds() < FINAL_REPORT_MARGIN_S, stamps
    assert proc.returncode != 0  # a run that lost a worker's tail is not a clean run
    survivors = [f for f in tmp_path.glob("records.*.jsonl") if summary["missing_workers"][0] not in f.name]
    assert len(survivors) == 1
    after = [r for r in read_records(survivors[0]) if r["kind"] == "turn" and r["started_at"] > killed_at + 3]
    assert len(after) > 20 and any(r["ok"] for r in after)  # the other worker went on working
    moved = {r["strategy"] for r in after if r["ok"] and r["started_at"] > killed_at + 6}
    assert moved == {"ws", "http-stateless"}, moved  # the lost agents were rebalanced onto it
    assert "Traceback" not in err
