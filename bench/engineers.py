"""One engineer's parallel agents, by strategy: N connections or one multiplexed (issue 29's answer).

    .venv/bin/python -m bench.engineers            # about 8 minutes

One Locust user is one engineer running 8 agents at once (--agents-per-user 8), each working through
a built-in task back to back, against the mock as a fast model (100 ms to the first token, 500
tokens/s; gpt-4.1: no reasoning), tool latencies at x0.1, and a limit of 4 WebSocket connections per API key (all 8 agents
send the engineer's key). Two workloads: fix-failing-test (12 turns, no subagents) and fan-out-forks
(5 lead turns and 3 forked subagents of 4 turns). A session is a root task and its subagents. Figures
per strategy: sessions finished, KB sent and received per session (its subagents' included), seconds
per session (the root's wall time), the most connections the mock held open at once, and 429 turns
(a refused upgrade included), all but the last from the run's --summary-json session row. Figures, not
a pass or fail.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

from agentload.core.strategies import NAMES
from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess

from .harness import ROOT, banner, table

AGENTS = 8
MAX_CONNECTIONS = 4
SECONDS = 30
TASKS = ("fix-failing-test", "fan-out-forks")
MOCK_LATENCY = ("--ttft-ms", "100", "--output-tps", "500")  # a fast model: several sessions a cell


def _peak_open(url: str, stop: threading.Event, out: list[int]) -> None:
    """The most connections the mock held open at once, polled every 0.1 s."""
    while not stop.wait(0.1):
        try:
            with urllib.request.urlopen(f"{url}/_agentload/stats?exchanges=0", timeout=2) as r:
                out.append(int(json.loads(r.read())["totals"]["open"]))
        except OSError:
            continue


def cell(strategy: str, task: str) -> list[Any]:
    with (
        MockProcess(["--max-connections", str(MAX_CONNECTIONS)]) as mock,
        tempfile.TemporaryDirectory() as tmp,
    ):
        stop, opened = threading.Event(), [0]
        poll = threading.Thread(target=_peak_open, args=(mock.url, stop, opened), daemon=True)
        poll.start()
        summary = Path(tmp) / "summary.json"
        cmd = locust_argv(
            "--headless", "--host", mock.url, "-u", "1", "-r", "1", "--run-time", f"{SECONDS}s",
            "--strategy", strategy, "--task", task, "--agents-per-user", str(AGENTS), "--model", "gpt-4.1",
            "--tool-latency-scale", "0.1", "--summary-json", str(summary), "--only-summary", "--stop-timeout", "0",
        )  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=SECONDS + 60, check=False)
        stop.set()
        poll.join()
        sessions = json.loads(summary.read_text())["sessions"] if summary.exists() else []
    row: dict[str, Any] = next((r for r in sessions if r["label"] == strategy), {})

    def kb(key: str) -> float:
        return (row.get(key) or 0.0) / 1000

    limited = sum(row.get("limited", {}).values())
    return [strategy, task, row.get("sessions", 0), kb("sent_per_session"), kb("received_per_session"),
            row.get("mean_s") or 0.0, max(opened), limited]  # fmt: skip


def main() -> None:
    banner(
        f"One engineer, {AGENTS} agents, {SECONDS} s a cell, the mock at {MAX_CONNECTIONS} WebSocket "
        "connections per key"
    )
    rows = [cell(s, t) for t in TASKS for s in NAMES]
    head = ["strategy", "task", "sessions", "KB sent/session", "KB recv/session", "s/session",
            "connections held (peak)", "429s"]  # fmt: skip
    print(table(head, rows))


if __name__ == "__main__":
    main()
