"""``agentload sweep``: a matrix of cells (strategy x agents x task x model x link), one Locust run each.

Each cell runs on a Locust master with local worker processes, against ``--host`` or the embedded mock
(started once for the sweep). A cell lasts its warm-up plus ``--duration``, or until ``--tasks`` tasks
started after the warm-up have finished (``--duration`` is then the cap); tasks in flight at the end
are let finish (``--stop-timeout``). As each cell finishes its figures are appended to the run folder
(sweep.store), so an interrupted sweep keeps them, and ``--resume`` runs only the cells that are
missing. The report (sweep.report) is written at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import AgentloadError
from ..launch import procs
from ..launch.locust import locust_argv
from ..mock.process import MockProcess
from ..workload.files import TASK_SUFFIXES
from .cells import CellResult, measure, read_records
from .master import run_cell_on_master
from .report import Report, write_report
from .spec import CellSpec, SweepSpec, compression_args, mock_args
from .store import RunStore


@contextmanager
def target(spec: SweepSpec) -> Iterator[str]:
    """The host the cells load: ``spec.host``, or the embedded mock for the sweep's length."""
    if spec.host:
        yield spec.host
        return
    with MockProcess([*mock_args(spec), *mock_task_args(spec.tasks)]) as mock:
        yield mock.url


def mock_task_args(tasks: list[str]) -> list[str]:
    """``--task FILE`` for each of the agents' task files, so the mock plays them as written (it finds
    the built-in tasks by name itself)."""
    args: list[str] = []
    for t in tasks:
        if t.endswith(TASK_SUFFIXES):
            args += ["--task", str(Path(t).resolve())]
    return args


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


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
        "--task", cell.task, "--model", cell.model, "--link", spec.cell_link(cell) or "none",
        "--tool-latency-scale", f"{spec.tool_latency_scale:g}", "--records", str(folder / "records.jsonl"),
        "--summary-json", str(folder / "summary.json"), "--only-summary", "--loglevel", "WARNING",
        "--run-id", f"sweep-{cell.id}", *compression_args(cell.compression), *per_user_args(cell),
        *spec.locust_args,
    )  # fmt: skip
    with (folder / "locust.log").open("w") as log:
        proc = procs.start(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        stopped_at = None
        try:
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
        finally:  # an interrupted sweep leaves no cell behind (this one's figures are not kept)
            procs.stop_group(proc, grace_s=10.0)
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


def per_user_args(cell: CellSpec) -> list[str]:
    """``--agents-per-user`` when the cell's engineers run more than one agent each (at 1 nothing, so an
    option given after ``--`` still applies)."""
    return ["--agents-per-user", str(cell.agents_per_user)] if cell.agents_per_user != 1 else []


def run_sweep(spec: SweepSpec, run_dir: Path, resume: bool) -> int:
    spec.validate()
    store = RunStore(run_dir)
    if store.exists() and not resume and store.done():
        raise AgentloadError(
            f"{run_dir} holds a sweep already: add --resume to finish it, or give a new --out"
        )
    if resume and not store.exists():
        raise AgentloadError(
            f"--resume: {run_dir} holds no sweep to resume (no sweep.json); leave out --resume"
        )
    if resume:
        spec = store.read_spec()
    store.write_spec(spec)
    cells = spec.cells()
    done = store.done()
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
                res = run_cell(spec, cell, host, store.cell_folder(cell))
            store.append(cell, res, spec.objectives)
    report = write_report(run_dir, baseline=spec.report_baseline)
    print(f"\nagentload sweep: done in {time.monotonic() - t0:.0f} s\n", flush=True)
    print(report.markdown_table(), flush=True)
    print(
        f"\nreport: {run_dir / 'report.html'} (and report.md, report.json, cells.jsonl, cells.csv)",
        flush=True,
    )
    return report_objectives(report)


def report_objectives(report: Report) -> int:
    """--slo: what failed, and the exit code (1 when anything did: the CI gate)."""
    if not report.objectives:
        return 0
    failures = report.failures()
    for f in failures:
        print(f"agentload sweep: SLO failed: {f}", flush=True)
    if not failures:
        print(f"agentload sweep: every objective met ({', '.join(map(str, report.objectives))})", flush=True)
    return 1 if failures else 0
