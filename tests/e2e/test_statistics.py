"""The statistics a user gates on, run as a user runs them: --slo on a Locust run (a failing objective
exits 1), open-loop sessions whose arrivals fit the asked rate, and `agentload compare` on two real
runs (exit 1 on a worse one, 0 on an equal one)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import run_locust

FAST = ("--headless", "--strategy", "ws", "--tool-latency-scale", "0.02", "--reasoning-effort", "none")


def agentload(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentload", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_a_failing_objective_exits_1_and_a_met_one_0(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--ttft-ms", "30", "--output-tps", "5000")
    runs = {}
    for name, slo in (
        ("met", "ttft_p99_ms=60000,task_s_p90=600"),
        ("failed", "ttft_p50_ms=1,task_s_p90=600"),
    ):
        folder = tmp_path / name
        folder.mkdir()
        proc, summary = run_locust(
            mock.url, folder, *FAST, "-u", "2", "-r", "2", "--run-time", "4s", "--slo", slo
        )
        runs[name] = (proc, summary)
    met, failed = runs["met"], runs["failed"]
    assert met[0].returncode == 0, met[0].stderr[-2000:]
    assert failed[0].returncode == 1, failed[0].stdout[-2000:] + failed[0].stderr[-2000:]
    assert (
        "agentload: SLO ws: FAILED (ttft_p50_ms" in failed[0].stdout and "Traceback" not in failed[0].stderr
    )
    (row,) = failed[1]["rows"]
    assert row["slo_met"] is False and [v["met"] for v in row["slo"]] == [False, True]
    assert row["good_tasks"] == 0 and row["goodput_tasks_per_s"] == 0
    (row,) = met[1]["rows"]
    assert row["slo_met"] is True and row["good_tasks"] == row["tasks"] > 0
    assert row["goodput_tasks_per_s"] == pytest.approx(row["tasks"] / met[1]["seconds"])
    assert met[1]["slo"] == ["ttft_p99_ms<=60000", "task_s_p90<=600"]
    # the end-of-run summary carries the spread too
    for key in (
        "ttft_p50_ms",
        "ttft_p90_ms",
        "ttft_p99_ms",
        "ttft_first_p50_ms",
        "task_s_p50",
        "task_s_ci95",
    ):
        assert row[key] is not None, key


def test_a_bad_objective_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.runlocust import run_briefly

    proc = run_briefly("--host", "http://127.0.0.1:9", "--slo", "ttft_p99=5")
    assert proc.returncode == 2 and "--slo: 'ttft_p99=5'" in proc.stderr and "Traceback" not in proc.stderr


def test_open_loop_session_arrivals_fit_the_asked_rate(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--latency", "zero", "--default-turns", "4", "--default-calls", "1")
    rate, seconds = 20.0, 12
    proc, summary = run_locust(
        mock.url, tmp_path, *FAST, "-u", "40", "-r", "40", "--processes", "2", "--run-time", f"{seconds}s",
        "--session-rate", f"{rate:g}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert summary["loop"]["kind"] == "sessions" and summary["rows"][0]["sessions_dropped"] == 0
    files = sorted(tmp_path.glob("records.*.jsonl"))
    assert len(files) == 2  # a file per worker process
    tasks = []
    for f in files:
        mine = [r for line in f.read_text().splitlines() if (r := json.loads(line))["kind"] == "task"]
        # every session is an agent of its own (ids are numbered per process), that ran one task
        assert len({r["agent"] for r in mine}) == len(mine) > 0 and {r["task_seq"] for r in mine} == {1}
        tasks += mine
    starts = sorted(r["started_at"] for r in tasks)
    # the arrivals of the two processes add up to the asked rate (Poisson: the count's sd is sqrt(n))
    span = starts[-1] - starts[0]
    n = len(starts) - 1
    expected = rate * span
    assert abs(n - expected) < 4 * expected**0.5, (n, expected, span)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    cv = statistics.stdev(gaps) / statistics.fmean(gaps)
    assert 0.65 < cv < 1.35, cv  # exponential gaps: a CV of 1 (evenly spaced arrivals would give ~0)


def test_compare_exits_1_on_a_worse_run_and_0_on_an_equal_one(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    records = {}
    for name, ttft in (("fast", "40"), ("slow", "160")):
        mock = start_mock("--ttft-ms", ttft, "--output-tps", "5000")
        folder = tmp_path / name
        folder.mkdir()
        proc, _ = run_locust(mock.url, folder, *FAST, "-u", "2", "-r", "2", "--run-time", "4s")
        assert proc.returncode == 0, proc.stderr[-2000:]
        records[name] = folder / "records.jsonl"
    gate = ("--fail-if-worse", "ttft_p99_ms=10%,task_s=5%")
    worse = agentload(
        "compare", str(records["fast"]), str(records["slow"]), *gate, "--out", str(tmp_path / "c1")
    )
    assert worse.returncode == 1, worse.stdout[-2000:] + worse.stderr[-2000:]
    verdict = next(line for line in worse.stdout.splitlines() if line.startswith("agentload compare:"))
    assert verdict.startswith("agentload compare: WORSE: ") and "ws ttft_p99_ms +" in verdict, verdict
    doc = json.loads((tmp_path / "c1" / "compare.json").read_text())
    p99 = next(d for d in doc["differences"] if d["figure"] == "ttft_p99_ms")
    assert p99["worse"] and p99["significant"] and p99["change"] > 1.0  # ~160 against ~40 ms
    assert p99["change_ci95"][0] > 0.10  # the whole interval is beyond the tolerance
    assert (tmp_path / "c1" / "compare.html").read_text().count("<tr>") == 1 + len(doc["differences"])
    equal = agentload(
        "compare", str(records["fast"]), str(records["fast"]), *gate, "--out", str(tmp_path / "c2")
    )
    assert equal.returncode == 0 and "within every tolerance" in equal.stdout, equal.stderr[-2000:]
    better = agentload(
        "compare", str(records["slow"]), str(records["fast"]), *gate, "--out", str(tmp_path / "c3")
    )
    assert better.returncode == 0, better.stdout[-2000:]
    bad = agentload("compare", str(tmp_path / "nothing"), str(records["fast"]))
    assert bad.returncode == 2 and "no such file or folder" in bad.stderr and "Traceback" not in bad.stderr
