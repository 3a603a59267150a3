"""``agentload demo``: the main job on the embedded default, in about two minutes.

Starts the mock (realistic latency model, sped up so a task takes seconds, not a minute), runs every
strategy on a Locust master with local worker processes, and ends with the per-strategy comparison.
Nothing outside this machine is contacted; InfluxDB is not needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .launch import ROOT, locust_argv
from .mock import MockProcess
from .summary import RunSummary

DEMO_MOCK_ARGS = [
    "--ttft-ms",
    "250",
    "--prefill-ms-per-1k",
    "20",
    "--cached-ms-per-1k",
    "2",
    "--output-tps",
    "400",
]


def run_demo(out_dir: Path, users: int, run_time: str, processes: int, tool_latency_scale: float) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    print(
        f"agentload demo: mock server + {processes} local Locust workers, {users} agents "
        f"({users // 5} per strategy), {run_time} of load; output in {out_dir}/",
        flush=True,
    )
    with MockProcess(DEMO_MOCK_ARGS) as mock:
        print(f"agentload demo: mock listening on {mock.url}", flush=True)
        cmd = locust_argv(
            "--processes",
            str(processes),
            "-u",
            str(users),
            "-r",
            str(users),
            "--run-time",
            run_time,
            "--stop-timeout",
            "120",
            "--host",
            mock.url,
            "--tool-latency-scale",
            str(tool_latency_scale),
            "--records",
            str(out_dir / "records.jsonl"),
            "--summary-json",
            str(summary_path),
            "--csv",
            str(out_dir / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        )
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.monotonic() - t0
    if not summary_path.exists():
        print(
            f"agentload demo: the Locust run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}",
            file=sys.stderr,
        )
        return proc.returncode or 1
    rows = json.loads(summary_path.read_text())["rows"]
    print(f"\nagentload demo: finished in {elapsed:.0f} s. Per completed task, exact wire bytes:\n")
    print(RunSummary.table_from_rows(rows))
    print(
        f"\nrecords: {out_dir / 'records.jsonl'}*   summary: {summary_path}   Locust CSV: {out_dir}/locust_*.csv"
    )
    return proc.returncode
