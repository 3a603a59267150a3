"""The generator watches itself: a worker past --cpu-warn-percent warns, and the end of the run names it.

Real Locust (a master and one worker process) against the zero-latency mock. The threshold is set low
(1 %) so any worker that runs agents at all passes it; Locust samples CPU every 10 s, hence 12 s runs.
Also: the summary counts stream events (what bench/ reports per CPU-second).
"""

from __future__ import annotations

from pathlib import Path

from agentload.mock import MockProcess
from tests.runlocust import run_locust

LOAD = ("-u", "4", "-r", "4", "--run-time", "12s", "--tool-latency-scale", "0", "--strategy", "ws")


def test_worker_over_the_cpu_threshold_is_warned_and_named(zero_mock: MockProcess, tmp_path: Path) -> None:
    proc, summary = run_locust(zero_mock.url, tmp_path, *LOAD, "--processes", "1", "--cpu-warn-percent", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(over --cpu-warn-percent 1)" in proc.stderr  # the worker's own log line, once
    assert proc.stderr.count("over --cpu-warn-percent") == 1
    end = [line for line in proc.stdout.splitlines() if "generator CPU was over 1 %" in line]
    assert len(end) == 1 and "on 1 of 1 process(es)" in end[0], proc.stdout[-2000:]
    row = summary["rows"][0]
    assert row["events"] > 10 * row["turns"] > 0  # a turn streams dozens of events


def test_no_warning_when_disabled(zero_mock: MockProcess, tmp_path: Path) -> None:
    proc, _ = run_locust(zero_mock.url, tmp_path, *LOAD, "--cpu-warn-percent", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cpu-warn-percent" not in proc.stderr and "generator CPU was over" not in proc.stdout
