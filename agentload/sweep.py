"""``agentload sweep``: a matrix of cells (strategy x agents x task x model x uplink), one Locust run each.

Each cell runs on a Locust master with local worker processes, against ``--host`` or the embedded mock
(started once for the sweep). A cell lasts its warm-up plus ``--duration``, or until ``--tasks`` tasks
started after the warm-up have finished (``--duration`` is then the cap); tasks in flight at the end
are let finish (``--stop-timeout``). As each cell finishes its figures are appended to
``cells.jsonl`` and ``cells.csv``, so an interrupted sweep keeps them, and ``--resume`` runs only the
cells that are missing. The report (agentload.report) is written at the end.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .agent import STRATEGY_TABLE
from .cells import CellResult, CellSpec, measure, read_records
from .errors import AgentloadError
from .launch import ROOT, locust_argv

# the embedded mock's latency for sweeps: realistic shape, sped up so a 10-turn task takes seconds
SWEEP_MOCK_ARGS = [
    "--ttft-ms",
    "250",
    "--prefill-ms-per-1k",
    "20",
    "--cached-ms-per-1k",
    "2",
    "--output-tps",
    "1000",
]
CSV_FIELDS = (
    "id", "strategy", "agents", "task", "model", "uplink_kbps", "window_s", "tasks_ok", "tasks_failed",
    "turns_ok", "turn_attempts", "rate_limited", "sent_per_task", "received_per_task", "task_s",
    "ttft_mean_ms", "ttft_first_ms", "turns_per_s", "tasks_per_s", "rate_limited_per_s", "sent_per_agent_s",
)  # fmt: skip


@dataclass
class SweepSpec:
    strategies: list[str]
    agents: list[int]
    tasks: list[str]
    models: list[str]
    uplinks_kbps: list[float] = field(default_factory=lambda: [0.0])
    duration_s: float = 60.0
    task_target: int = 0  # > 0: end a cell once this many tasks started after the warm-up have finished
    warmup_s: float = 10.0
    processes: int = 2
    host: str = ""  # empty: the embedded mock
    tool_latency_scale: float = 0.1
    locust_args: list[str] = field(default_factory=list)
    master_url: str = ""  # a running Locust master's web UI (started with --class-picker): drive it instead

    def cells(self) -> list[CellSpec]:
        return [
            CellSpec(s, a, t, m, u)
            for t, m, u, a, s in itertools.product(
                self.tasks, self.models, self.uplinks_kbps, self.agents, self.strategies
            )
        ]

    def validate(self) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGY_TABLE]
        if unknown:
            raise AgentloadError(f"--strategies: unknown {unknown[0]!r} (use: {', '.join(STRATEGY_TABLE)})")
        if not self.agents or any(a < 1 for a in self.agents):
            raise AgentloadError("--agents: give whole numbers of 1 or more, e.g. 4,16,64")
        if any(u < 0 for u in self.uplinks_kbps):
            raise AgentloadError("--uplink-kbps: 0 (not shaped) or more kbit/s")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise AgentloadError("--duration must be more than 0 s and --warmup 0 s or more")
        if self.processes < 1:
            raise AgentloadError("--processes: 1 or more")
        from .workload import builtin_task_names, load_tasks

        for t in self.tasks:  # a task name or file that does not load fails here, with its fix
            load_tasks(builtin_task_names() if t == "all" else [t])


def parse_list(flag: str, text: str, kind: type = str) -> list[Any]:
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AgentloadError(f"{flag}: {text!r} is not a comma-separated list of {kind.__name__}") from None


@contextmanager
def target(spec: SweepSpec) -> Iterator[str]:
    """The host the cells load: ``spec.host``, or the embedded mock for the sweep's length."""
    if spec.host:
        yield spec.host
        return
    from .mock import MockProcess

    with MockProcess(SWEEP_MOCK_ARGS) as mock:
        yield mock.url


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


def done_cells(run_dir: Path) -> dict[str, dict[str, Any]]:
    path = run_dir / "cells.jsonl"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            out[d["id"]] = d
    return out


def _append(run_dir: Path, cell: CellSpec, res: CellResult) -> None:
    row = {"id": cell.id, **res.as_dict()}
    with (run_dir / "cells.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    new = not (run_dir / "cells.csv").exists()
    with (run_dir / "cells.csv").open("a", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS)
        if new:
            w.writeheader()
        flat = {**row, **row["spec"]}
        w.writerow({k: flat.get(k) for k in CSV_FIELDS})


def _task_starts(folder: Path) -> list[float]:
    """When each task recorded so far began (the records are flushed task by task)."""
    starts = []
    for f in folder.glob("records*.jsonl"):
        for line in f.read_text().splitlines():
            if '"kind":"task"' in line:
                starts.append(json.loads(line)["started_at"])
    return starts


def run_cell(spec: SweepSpec, cell: CellSpec, host: str, folder: Path) -> CellResult:
    """One Locust run (master + local workers); its figures from its records."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("records*.jsonl"):
        old.unlink()
    run_s = spec.warmup_s + spec.duration_s
    cmd = locust_argv(
        "--host", host, "--processes", str(spec.processes), "-u", str(cell.agents), "-r", str(cell.agents),
        "--run-time", f"{run_s:g}s", "--stop-timeout", "120", "--strategy", cell.strategy,
        "--task", cell.task, "--model", cell.model, "--uplink-kbps", f"{cell.uplink_kbps:g}",
        "--tool-latency-scale", f"{spec.tool_latency_scale:g}", "--records", str(folder / "records.jsonl"),
        "--summary-json", str(folder / "summary.json"), "--only-summary", "--loglevel", "WARNING",
        "--run-id", f"sweep-{cell.id}", *spec.locust_args,
    )  # fmt: skip
    with (folder / "locust.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        stopped_at = None
        while proc.poll() is None:
            time.sleep(1.0)
            if spec.task_target and stopped_at is None:
                starts = _task_starts(folder)
                if starts:
                    counted = min(starts) + spec.warmup_s
                    if sum(1 for t in starts if t >= counted) >= spec.task_target:
                        stopped_at = time.time()
                        proc.send_signal(signal.SIGTERM)  # Locust stops gracefully and reports
        proc.wait()
    records = read_records(folder)
    if not any(r["kind"] == "task" for r in records):
        tail = (folder / "locust.log").read_text()[-1500:]
        raise AgentloadError(
            f"cell {cell.id}: no task finished (exit {proc.returncode}); {folder}/locust.log:\n{tail}"
        )
    first = min(r["started_at"] for r in records if r["kind"] == "task")
    window_start = first + spec.warmup_s
    window_s = spec.duration_s if stopped_at is None else max(0.001, stopped_at - window_start)
    return measure(cell, records, window_start, window_s)


USER_CLASSES = {  # the strategy -> Locust user class names of users/ (what --class-picker selects by)
    "http-stateless": "HttpStatelessAgent",
    "http-chained": "HttpChainedAgent",
    "ws": "WsAgent",
    "ws-stored": "WsStoredAgent",
    "chat": "ChatAgent",
}


class MasterClient:
    """A running Locust master's web API: /swarm, /stop, and agentload's /agentload/totals."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, path: str, form: list[tuple[str, str]] | None = None) -> Any:
        import urllib.error
        import urllib.parse
        import urllib.request

        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), timeout=30) as r:
                return json.loads(r.read() or b"null")
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise AgentloadError(
                f"--master-url {self.url}: {path} failed ({getattr(e, 'reason', e)}); is a Locust master with "
                "the agentload locustfile and --class-picker running there?"
            ) from None

    def totals(self, strategy: str) -> dict[str, Any]:
        return (self._call("/agentload/totals") or {}).get(strategy, {})

    def swarm(self, cell: CellSpec, host: str, spec: SweepSpec) -> None:
        answer = self._call(
            "/swarm",
            [
                ("user_count", str(cell.agents)),
                ("spawn_rate", str(cell.agents)),
                ("host", host),
                ("user_classes", USER_CLASSES[cell.strategy]),
                ("strategy", cell.strategy),
                ("task", cell.task),
                ("model", cell.model),
                ("uplink_kbps", f"{cell.uplink_kbps:g}"),
                ("tool_latency_scale", f"{spec.tool_latency_scale:g}"),
            ],
        )
        if not (answer or {}).get("success"):
            raise AgentloadError(f"--master-url {self.url}: the master refused the cell: {answer}")

    def stop(self) -> None:
        self._call("/stop", [])  # POST


def run_cell_on_master(spec: SweepSpec, cell: CellSpec, host: str) -> CellResult:
    """One cell on a running master: its figures are the difference of the master's totals between
    the end of the warm-up and the end of the window (tasks that finished inside the window)."""
    from .cells import measure_totals, totals_difference

    master = MasterClient(spec.master_url)
    master.swarm(cell, host, spec)
    try:
        time.sleep(spec.warmup_s + REPORT_LAG_S)
        before, t0 = master.totals(cell.strategy), time.time()
        time.sleep(spec.duration_s)
        after, t1 = master.totals(cell.strategy), time.time()
    finally:
        master.stop()
    time.sleep(REPORT_LAG_S)  # the workers' last reports, before the next cell reads its first
    return measure_totals(cell, totals_difference(before, after), t0, t1 - t0)


REPORT_LAG_S = 3.5  # workers report their totals to the master every 3 s


def run_sweep(spec: SweepSpec, run_dir: Path, resume: bool) -> int:
    spec.validate()
    run_dir.mkdir(parents=True, exist_ok=True)
    spec_path = run_dir / "sweep.json"
    if spec_path.exists() and not resume and done_cells(run_dir):
        raise AgentloadError(
            f"{run_dir} holds a sweep already: add --resume to finish it, or give a new --out"
        )
    if resume and spec_path.exists():
        spec = SweepSpec(**json.loads(spec_path.read_text()))
    spec_path.write_text(json.dumps(asdict(spec), indent=2))
    cells = spec.cells()
    done = done_cells(run_dir)
    todo = [c for c in cells if c.id not in done]
    print(
        f"agentload sweep: {len(cells)} cells ({len(cells) - len(todo)} done already), "
        f"{spec.warmup_s:g} s warm-up + {spec.duration_s:g} s each; results in {run_dir}/",
        flush=True,
    )
    t0 = time.monotonic()
    with target(spec) if todo else _nothing() as host:
        for i, cell in enumerate(todo, 1):
            elapsed = time.monotonic() - t0
            eta = f", ETA {elapsed / (i - 1) * (len(todo) - i + 1):.0f} s" if i > 1 else ""
            print(f"  cell {len(cells) - len(todo) + i} of {len(cells)}: {cell.id}{eta}", flush=True)
            if spec.master_url:
                res = run_cell_on_master(spec, cell, host)
            else:
                res = run_cell(spec, cell, host, run_dir / "cells" / cell.id)
            _append(run_dir, cell, res)
    from .report import write_report

    report = write_report(run_dir)
    print(f"\nagentload sweep: done in {time.monotonic() - t0:.0f} s\n", flush=True)
    print(report.markdown_table(), flush=True)
    print(
        f"\nreport: {run_dir / 'report.html'} (and report.md, report.json, cells.jsonl, cells.csv)",
        flush=True,
    )
    return 0


def main_from_args(a: Any) -> int:
    spec = SweepSpec(
        strategies=parse_list("--strategies", a.strategies)
        if a.strategies != "all"
        else list(STRATEGY_TABLE),
        agents=parse_list("--agents", a.agents, int),
        tasks=parse_list("--tasks-list", a.task),
        models=parse_list("--models", a.models),
        uplinks_kbps=parse_list("--uplink-kbps", a.uplink_kbps, float),
        duration_s=a.duration,
        task_target=a.tasks,
        warmup_s=a.warmup,
        processes=a.processes,
        host=a.host or "",
        tool_latency_scale=a.tool_latency_scale,
        locust_args=a.locust_args or [],
        master_url=a.master_url or "",
    )
    if spec.master_url and (spec.locust_args or spec.task_target):
        raise AgentloadError(
            "--master-url: the master's own options apply; -- options and --tasks need local cells"
        )
    try:
        return run_sweep(spec, Path(a.out), a.resume)
    except KeyboardInterrupt:
        print(
            "\nagentload sweep: interrupted; the cells that finished are kept (--resume goes on)",
            file=sys.stderr,
        )
        return 130
