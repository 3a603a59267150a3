"""A run to compare, read from what it wrote: a sweep folder (its cells.jsonl, pooled per strategy and
uplink as its report pools them) or a plain run's records (``--records FILE``: the file and its
workers' files beside it), every completed task counted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import AgentloadError
from ..core.records import TaskRecord, TurnRecord, record_from_dict
from ..metrics import Group, Totals
from ..metrics.spread import Samples
from ..sweep.report import build


@dataclass(frozen=True)
class Run:
    path: Path
    kind: str  # "sweep" or "records"
    groups: dict[str, Group]  # by row label (strategy, and uplink where a sweep varied it)


def _record_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("records*.jsonl"))
    return sorted({path, *path.parent.glob(f"{path.stem}.*{path.suffix}")})


def _from_records(path: Path) -> Run:
    files = _record_files(path)
    totals: dict[str, Totals] = {}
    samples: dict[str, Samples] = {}
    first, last = float("inf"), 0.0
    for f in files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                kind, strategy = r["kind"], r["strategy"]
            except (ValueError, KeyError, TypeError):
                raise AgentloadError(
                    f"{f}: line {n} is not an agentload record (give a --records file)"
                ) from None
            t, s = totals.setdefault(strategy, Totals()), samples.setdefault(strategy, Samples())
            if kind == "turn":
                turn = record_from_dict(TurnRecord, r)
                t.add_attempt()
                t.add_turn(turn)
                s.add_turn(turn)
            elif kind == "task":
                task = record_from_dict(TaskRecord, r)
                t.add_task(task)
                s.add_task(task)
                first, last = (
                    min(first, task.started_at),
                    max(last, task.started_at + task.duration_ms / 1000),
                )
    if not totals:
        raise AgentloadError(f"{path}: no records in it (give a sweep folder or a --records file)")
    seconds = last - first if last > first else None
    return Run(path, "records", {k: Group(k, totals[k], samples=samples[k], seconds=seconds) for k in totals})


def load_run(path: Path) -> Run:
    """A sweep folder, or a records file (or a folder of them)."""
    if not path.exists():
        raise AgentloadError(f"{path}: no such file or folder (give a sweep folder or a --records file)")
    if path.is_dir() and (path / "cells.jsonl").exists():
        return Run(path, "sweep", {g.label: g for g in build(path).groups()})
    if path.is_dir() and not _record_files(path):
        raise AgentloadError(f"{path}: neither a sweep folder (cells.jsonl) nor records (records*.jsonl)")
    return _from_records(path)
