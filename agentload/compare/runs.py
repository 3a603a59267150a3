"""A run to compare, read from what it wrote: a sweep folder (its cells.jsonl, pooled per strategy and
link as its report pools them) or a plain run's records (``--records FILE``: the file and its
workers' files beside it), every completed task counted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import AgentloadError
from ..metrics import Group
from ..sweep.cells import Tally
from ..sweep.report import build


@dataclass(frozen=True)
class Run:
    path: Path
    kind: str  # "sweep" or "records"
    groups: dict[str, Group]  # by row label (strategy, and link where a sweep varied it)


def _record_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("records*.jsonl"))
    return sorted({path, *path.parent.glob(f"{path.stem}.*{path.suffix}")})


def _from_records(path: Path) -> Run:
    files = _record_files(path)
    tallies: dict[str, Tally] = {}
    first, last = float("inf"), 0.0
    for f in files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                if r["kind"] not in ("turn", "task"):
                    continue
                tallies.setdefault(r["strategy"], Tally()).add(r)
                if r["kind"] == "task":
                    first = min(first, r["started_at"])
                    last = max(last, r["started_at"] + r["duration_ms"] / 1000)
            except (ValueError, KeyError, TypeError):
                raise AgentloadError(
                    f"{f}: line {n} is not an agentload record (give a --records file)"
                ) from None
    if not tallies:
        raise AgentloadError(f"{path}: no records in it (give a sweep folder or a --records file)")
    seconds = last - first if last > first else None
    groups = {k: Group(k, t.totals, samples=t.samples, seconds=seconds) for k, t in tallies.items()}
    return Run(path, "records", groups)


def load_run(path: Path) -> Run:
    """A sweep folder, or a records file (or a folder of them)."""
    if not path.exists():
        raise AgentloadError(f"{path}: no such file or folder (give a sweep folder or a --records file)")
    if path.is_dir() and (path / "cells.jsonl").exists():
        return Run(path, "sweep", {g.label: g for g in build(path).groups()})
    if path.is_dir() and not _record_files(path):
        raise AgentloadError(f"{path}: neither a sweep folder (cells.jsonl) nor records (records*.jsonl)")
    return _from_records(path)
