"""Helpers to run the real ``locust`` command against a mock and read back what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_locust(
    host: str, tmp: Path, *args: str, timeout: float = 120
) -> tuple[subprocess.CompletedProcess, dict]:
    """Headless Locust, bounded by --run-time (given in ``args``) and ``timeout``; returns the process and
    the summary JSON it wrote."""
    summary = tmp / "summary.json"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "locustfile.py"),
        "--headless",
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
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return proc, data


def read_records(path: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(path.parent.glob(path.stem + "*" + path.suffix)):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out
