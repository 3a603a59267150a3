"""Helpers to run the real ``locust`` command against a mock and read back what it measured."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from agentload.launch import ROOT, locust_argv


def run_locust(
    host: str, tmp: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, dict]:
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
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return proc, data


def read_records(path: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(path.parent.glob(path.stem + "*" + path.suffix)):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def run_briefly(
    *args: str, run_time: str = "1s", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """One agent for ``run_time``: for runs that are meant to stop at start (bad options, a refused key)."""
    return subprocess.run(
        locust_argv("-u", "1", "--run-time", run_time, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
