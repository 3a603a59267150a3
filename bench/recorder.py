"""What the recording proxy costs: agents against a zero-latency mock directly, and through ``agentload
record`` (which relays every byte, reads a copy of each request and reply, and rewrites the session's
task file after each turn), alternating runs of the same code. Printed: the recorder's CPU per event
and per byte relayed, and what it adds to the agents' time to first token (the direct run is the
baseline).

    .venv/bin/python -m bench.recorder           # about 1.5 minutes
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from .harness import MOCK_CORE, ROOT, TASK, Window, banner, mock, percentile, pin, run_locust, table

STRATEGIES = ("ws", "http-stateless")
ROUNDS, SECONDS, AGENTS = 2, 8.0, 10


def start_recorder(upstream: str, out: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentload", "record", "--port", "0", "--upstream", upstream, "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        raise RuntimeError(
            f"agentload record did not start: {line}{proc.stderr.read() if proc.stderr else ''}"
        )
    pin(proc.pid, MOCK_CORE)
    return proc, line.split()[4]


def main() -> None:
    banner(
        f"Recorder overhead: {AGENTS} agents, zero latency, {SECONDS:g} s runs, {ROUNDS} rounds, task {TASK}"
    )
    rows = []
    with mock("--latency", "zero") as m:
        for strategy in STRATEGIES:
            direct_ttft: list[float] = []
            via_ttft: list[float] = []
            per_event: list[float] = []
            per_byte: list[float] = []
            files = 0
            for _ in range(ROUNDS):
                args = (
                    "--strategy",
                    strategy,
                    "--task",
                    TASK,
                    "--tool-latency-scale",
                    "0",
                    "--reasoning-effort",
                    "none",
                )
                r = run_locust(m.url, AGENTS, SECONDS, *args, records=True)
                direct_ttft += [
                    t["ttft_ms"] for t in r.records if t["kind"] == "turn" and t["ok"] and t["ttft_ms"]
                ]
                with tempfile.TemporaryDirectory() as tmp:
                    rec, url = start_recorder(m.url, Path(tmp))
                    win = Window(psutil.Process(rec.pid))
                    win.start()
                    r = run_locust(url, AGENTS, SECONDS, *args, records=True)
                    win.stop()
                    rec.send_signal(signal.SIGINT)
                    rec.communicate(timeout=60)
                    files = max(files, len(list(Path(tmp).glob("*.yaml"))))
                turns = [t for t in r.records if t["kind"] == "turn" and t["ok"]]
                via_ttft += [t["ttft_ms"] for t in turns if t["ttft_ms"]]
                relayed = sum(t["bytes_sent"] + t["bytes_received"] for t in turns)
                events = sum(t["events"] for t in turns)
                # (the recorder's whole run, set against what the window's turns carried: an upper bound)
                per_event.append(win.cpu_s / max(1, events) * 1e6)
                per_byte.append(win.cpu_s / max(1, relayed) * 1e9)
            p50_d, p50_v = percentile(direct_ttft, 50) or 0.0, percentile(via_ttft, 50) or 0.0
            rows.append([
                strategy, f"{statistics.fmean(per_event):.1f}", f"{statistics.fmean(per_byte):.1f}",
                f"{p50_d:.2f}", f"{p50_v:.2f}", f"{p50_v - p50_d:+.2f}", files,
            ])  # fmt: skip
    print(table(["strategy", "recorder CPU us/event", "recorder CPU ns/byte", "TTFT p50 direct ms",
                 "TTFT p50 via recorder ms", "added ms", "task files"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
