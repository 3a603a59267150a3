"""Helpers to run the real ``locust`` command against a mock and read back what it measured."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from agentload.launch import procs
from agentload.launch.locust import locust_argv
from tests.paths import ROOT

# a module fixture's run against a mock: the Locust process, its summary JSON, its records, the mock's stats
MockedRun = tuple[subprocess.CompletedProcess[str], dict[str, Any], list[dict[str, Any]], dict[str, Any]]


def run_group(cmd: list[str], timeout: float, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` for a command that starts processes of its own: it runs in a process group of
    its own, and on a timeout the whole group is killed (nothing is left running behind a failed test)."""
    proc = procs.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        procs.signal_group(proc, 9)
        out, err = proc.communicate(timeout=30)
        raise subprocess.TimeoutExpired(cmd, timeout, out, err) from None
    finally:
        procs.signal_group(proc, 9)  # whatever it forked and left behind
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_locust(
    host: str, tmp: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Headless Locust, bounded by --run-time (given in ``args``) and ``timeout``; returns the process and
    the summary JSON it wrote."""
    summary = tmp / "summary.json"
    cmd = locust_argv(
        "--host",
        host,
        "--records",
        str(tmp / "records.jsonl"),
        "--summary-json",
        str(summary),
        "--only-summary",
        "--stop-timeout",
        "30",
        *args,
    )
    proc = run_group(cmd, timeout, cwd=ROOT, env={**os.environ, **(env or {})})
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return proc, data


def read_records(path: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(path.parent.glob(path.stem + "*" + path.suffix)):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def run_briefly(
    *args: str, run_time: str = "1s", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One agent for ``run_time``: for runs that are meant to stop at start (bad options, a refused key)."""
    return run_group(
        locust_argv("-u", "1", "--run-time", run_time, "--strategy", "ws", *args),
        60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
