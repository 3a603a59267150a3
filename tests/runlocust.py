"""Helpers to run the real ``locust`` command against a mock and read back what it measured."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from agentload.launch import ROOT, locust_argv


def run_locust(
    host: str, tmp: Path, *args: str, timeout: float = 120
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
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return proc, data


def read_records(path: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(path.parent.glob(path.stem + "*" + path.suffix)):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out
