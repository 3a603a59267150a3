"""Baselines in the same run, against the same mock, doing the same work (issue: performance, item 3).

    .venv/bin/python -m bench.baselines            # about 2 minutes

The work: task fix-failing-test, replayed back to back by 32 agents (SDK clients: 8 threads, the SDK's
WebSocket client being thread-based), no tool latency, a zero-latency mock on the other core. Every
client runs pinned to one core; the figure that compares them is stream events per CPU-second of the
client's process (its events/s if it had that core to itself). Ratios are against agentload.

- agentload ws / http-chained: the Locust worker as users run it (locustfile.py);
- bare loop: agentload's Agent and wire clients in plain gevent, no Locust (what Locust costs);
- Locust's OpenAIUser (openai SDK over HTTP, streaming, chained), the SDK's ``responses.connect()``
  WebSocket: the same agent loop written on the SDK (bench/sdk_agent.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from .harness import GEN_CORE, ROOT, TASK, banner, mock, run_locust, table

AGENTS, SDK_THREADS = 32, 8


def _run_child(kind: str, host: str, agents: int, seconds: float) -> dict[str, Any]:
    cmd = [
        "taskset",
        "-c",
        str(GEN_CORE),
        sys.executable,
        "-m",
        "bench.clients",
        kind,
        host,
        str(agents),
        str(seconds),
    ]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120)
    if p.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{p.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return measured


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    a = p.parse_args()
    banner(f"Baselines: task {TASK}, zero-latency mock, {a.seconds:g} s each")
    results: dict[str, dict[str, Any]] = {}
    with mock("--latency", "zero") as m:
        common = ("--task", TASK, "--tool-latency-scale", "0")
        for s in ("ws", "http-chained"):
            r = run_locust(m.url, AGENTS, a.seconds, "--strategy", s, *common)
            results[f"agentload {s} (Locust worker)"] = r.totals()
        for s in ("ws", "http-chained"):
            results[f"bare loop {s} (no Locust)"] = _run_child(f"bare:{s}", m.url, AGENTS, a.seconds)
        r = run_locust(
            m.url, AGENTS, a.seconds, *common, locustfile=ROOT / "bench" / "locustfiles" / "openai_user.py"
        )
        results["Locust OpenAIUser (SDK, HTTP)"] = r.totals()
        results["SDK responses.connect() (WebSocket)"] = _run_child("sdk-ws", m.url, SDK_THREADS, a.seconds)
    per_cpu = {k: v["events"] / v["cpu_s"] for k, v in results.items()}
    ws = per_cpu["agentload ws (Locust worker)"]
    http = per_cpu["agentload http-chained (Locust worker)"]
    rows = [
        [k, v["turns"] / v["wall_s"], v["events"] / v["wall_s"], 100 * v["cpu_s"] / v["wall_s"], per_cpu[k],
         ws / per_cpu[k], http / per_cpu[k]]
        for k, v in results.items()
    ]  # fmt: skip
    print(
        table(
            ["client", "turns/s", "events/s", "CPU %", "events per CPU-s", "agentload ws is x", "agentload http is x"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
