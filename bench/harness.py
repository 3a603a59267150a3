"""What every benchmark shares: cores, a pinned mock, a measured Locust run, and the printed table.

The generator under test runs on GEN_CORE and the mock on MOCK_CORE (on a one-core machine both share
it, and the figures say so). CPU is read from the kernel (user + system seconds of the process) at the
start and end of the measured window, so a figure is "work per CPU-second", independent of how busy
the machine was otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentload.launch.locust import LOCUSTFILE, locust_argv  # noqa: E402
from agentload.mock import MockProcess  # noqa: E402

TASK = "fix-failing-test"  # the coding task every benchmark replays (12 turns, 15 tool calls)
# A model that does not reason: the benchmarks measure clients and the mock per event, on the workload
# of their earlier figures (a reasoning model thinks before every turn and sends more per turn).
MODEL = "gpt-4.1"
CORES = sorted(os.sched_getaffinity(0))
GEN_CORE = CORES[0]
MOCK_CORE = CORES[1] if len(CORES) > 1 else CORES[0]
SHARED_CORE = GEN_CORE == MOCK_CORE


def pin(pid: int, core: int) -> None:
    """Keep process ``pid`` (and the threads it starts later) on one core."""
    os.sched_setaffinity(pid, {core})


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    seconds: float = t.user + t.system
    return seconds


@contextlib.contextmanager
def mock(*args: str) -> Iterator[MockProcess]:
    """A mock process pinned to MOCK_CORE."""
    with MockProcess(list(args)) as m:
        assert m.proc is not None
        pin(m.proc.pid, MOCK_CORE)
        yield m


@dataclass
class Window:
    """CPU and wall time of one process between two instants."""

    proc: psutil.Process
    t0: float = 0.0
    c0: float = 0.0
    unix0: float = 0.0  # wall clock at the start, to pick the records started inside the window
    rss: int = 0  # resident memory at the end, bytes
    t1: float = 0.0
    c1: float = 0.0

    def start(self) -> None:
        self.t0, self.c0, self.unix0 = time.perf_counter(), cpu_seconds(self.proc), time.time()

    def stop(self) -> None:
        self.t1, self.c1 = time.perf_counter(), cpu_seconds(self.proc)
        self.rss = self.proc.memory_info().rss

    @property
    def wall_s(self) -> float:
        return max(self.t1 - self.t0, 1e-9)

    @property
    def cpu_s(self) -> float:
        return self.c1 - self.c0

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s


@dataclass
class LocustRun:
    """One headless Locust process (the worker under test) on GEN_CORE, measured between
    "All users spawned" and "--run-time limit reached"."""

    rows: list[dict[str, Any]]
    window: Window
    mock_window: Window | None
    records: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""

    @property
    def events(self) -> int:
        return sum(r.get("events", 0) for r in self.rows)

    @property
    def turns(self) -> int:
        return sum(r.get("turns", 0) for r in self.rows)

    @property
    def failed_turns(self) -> int:
        return sum(r.get("turn_failures", 0) for r in self.rows)

    def totals(self) -> dict[str, float]:
        """The figures bench/clients.py prints for a client run outside Locust, for one table."""
        return {
            "events": self.events,
            "turns": self.turns,
            "cpu_s": self.window.cpu_s,
            "wall_s": self.window.wall_s,
        }


_SPAWNED = re.compile(r"All users spawned")
_STOPPING = re.compile(r"--run-time limit reached")


def run_locust(
    host: str,
    users: int,
    seconds: float,
    *args: str,
    mock_proc: MockProcess | None = None,
    records: bool = False,
    spawn_s: float = 0.0,
    locustfile: Path | None = None,
) -> LocustRun:
    """Run ``users`` agents for ``seconds`` after they are all spawned (over ``spawn_s``: agents that
    start together stay in step, and their simultaneous first tokens are a burst no real fleet sends)
    in one Locust process. Records, when asked for, are those of turns started inside the window."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        rec_path = Path(tmp) / "records.jsonl"
        cmd = locust_argv(
            "--headless",
            "--host",
            host,
            "-u",
            str(users),
            "-r",
            f"{users / spawn_s if spawn_s > 0 else max(users, 1) * 10:g}",
            "--run-time",
            f"{seconds + spawn_s + 2:g}s",
            "--summary-json",
            str(summary),
            "--only-summary",
            "--loglevel",
            "INFO",
            *(["--records", str(rec_path)] if records else []),
            "--model",
            MODEL,
            *args,
            locustfile=locustfile or LOCUSTFILE,
        )
        proc = subprocess.Popen(
            ["taskset", "-c", str(GEN_CORE), *cmd],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ps = psutil.Process(proc.pid)
        win = Window(ps)
        mwin = Window(psutil.Process(mock_proc.proc.pid)) if mock_proc and mock_proc.proc else None
        lines: list[str] = []

        def watch() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if _SPAWNED.search(line) and not win.t0:
                    win.start()
                    if mwin:
                        mwin.start()
                elif _STOPPING.search(line) and not win.t1:
                    win.stop()
                    if mwin:
                        mwin.stop()

        reader = threading.Thread(target=watch, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=seconds + spawn_s + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(10)
        log = "".join(lines)
        if not summary.exists() or not win.t1:
            raise RuntimeError(f"locust run failed (exit {proc.returncode}):\n{log[-3000:]}")
        rows = json.loads(summary.read_text())["rows"]
        recs: list[dict[str, Any]] = []
        if records:
            for f in Path(tmp).glob("records*.jsonl"):
                recs += [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
            recs = [x for x in recs if x["started_at"] >= win.unix0]
        return LocustRun(rows, win, mwin, recs, log)


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100.0 * (len(s) - 1))))
    return s[k]


def table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats get thousands separators and no more precision than they deserve."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            if abs(v) >= 100:
                return f"{v:,.0f}"
            return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def banner(title: str) -> None:
    where = "one shared core" if SHARED_CORE else f"generator on core {GEN_CORE}, mock on core {MOCK_CORE}"
    print(
        f"\n## {title}\n\n({where}; {psutil.cpu_count()} CPUs, Python {sys.version.split()[0]})\n", flush=True
    )
