"""Bad input: one line naming the flag or the file and the fix, exit 2, no traceback, before any load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT
from tests.runlocust import run_briefly


def one_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, (proc.returncode, out[-2000:])
    assert "Traceback" not in out, out[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("agentload:")]
    assert len(lines) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def agentload(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentload", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def not_a_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    f = tmp_path_factory.mktemp("bad") / "a-file"
    f.write_text("x")
    return f


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--host", "http://127.0.0.1:abc"], "--host"),
        (["--host", "http://127.0.0.1:99999"], "--host"),
        (
            ["--host", "http://127.0.0.1:9", "--influx-url", "http://127.0.0.1:abc", "--influx-db", "x"],
            "--influx-url",
        ),
        (
            ["--host", "http://127.0.0.1:9", "--influx-url", "http://127.0.0.1:99999", "--influx-db", "x"],
            "--influx-url",
        ),
        (["--host", "http://127.0.0.1:9", "--tool-latency-scale", "nan"], "--tool-latency-scale"),
        (["--host", "http://127.0.0.1:9", "--task-rate", "inf"], "--task-rate"),
        (["--host", "http://127.0.0.1:9", "--session-rate", "1", "--task-rate", "1"], "--session-rate"),
        (["--host", "http://127.0.0.1:9", "--burstiness", "0"], "--burstiness"),
        (["--host", "http://127.0.0.1:9", "--ws-window-bits", "20"], "--ws-window-bits"),
        (["--host", "http://127.0.0.1:9", "--client-profile", "nope"], "nope: no such client profile"),
        (["--host", "http://127.0.0.1:9", "--slo", "task_s=fast"], "--slo"),
        (["--host", "http://127.0.0.1:9", "--uplink-kbps", "inf"], "--uplink-kbps"),
        (["--host", "http://127.0.0.1:9", "--uplink-kbps", "-1"], "--uplink-kbps"),
        (["--host", "http://127.0.0.1:9", "--strategy", "all"], "-u/--users"),  # 1 agent, 5 strategies
        (["--host", "http://127.0.0.1:9", "-u", "-3"], "-u/--users"),
    ],
)
def test_bad_options_of_a_run(args: list[str], flag: str) -> None:
    one_line(run_briefly(*args), flag)


def test_output_files_that_cannot_be_written(tmp_path: Path, not_a_folder: Path) -> None:
    for flag in ("--records", "--summary-json"):
        one_line(run_briefly("--host", "http://127.0.0.1:9", flag, str(tmp_path)), flag, "is a folder")
        one_line(
            run_briefly("--host", "http://127.0.0.1:9", flag, str(not_a_folder / "x.jsonl")), flag, "writable"
        )


def test_bad_input_to_the_commands(tmp_path: Path, not_a_folder: Path) -> None:
    one_line(agentload("mock", "--faults", "drop=0.6,http_500=0.6"), "--faults", "100 %")
    one_line(agentload("probe", "--host", "http://127.0.0.1:9", "--probe-steps", "4,x"), "--probe-steps")
    one_line(agentload("sweep", "--out", str(tmp_path / "new"), "--resume"), "--resume", "no sweep")
    one_line(agentload("sweep", "--out", str(tmp_path / "s"), "--slo", "p99=1"), "--slo")
    one_line(agentload("sweep", "--out", str(tmp_path / "s"), "--compression", "brotli"), "--compression")
    one_line(agentload("compare", str(tmp_path / "none"), str(tmp_path)), "no such file")
    one_line(
        agentload("compare", str(tmp_path), str(tmp_path), "--fail-if-worse", "task_s=5"), "--fail-if-worse"
    )
    one_line(
        agentload("dashboard", "--out", str(tmp_path / "no" / "such" / "x.json")), "--out", "does not exist"
    )
    assert not (tmp_path / "no").exists()
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "cells.jsonl").write_text('{"id": "x", "spec": \n')
    one_line(agentload("report", str(bad)), "cells.jsonl", "line 1")
