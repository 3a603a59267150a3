"""A sweep's run folder, owned in one place: its spec (sweep.json), the finished cells (cells.jsonl and
cells.csv, appended as each cell finishes, so an interrupted sweep keeps them), and one folder per cell
(its records, summary and Locust log)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..core.errors import AgentloadError
from ..metrics.slo import Objective
from .cells import CellResult
from .spec import CellSpec, SweepSpec

CSV_FIELDS = (
    "id", "strategy", "agents", "task", "model", "link", "window_s", "tasks_ok", "tasks_failed",
    "turns_ok", "turn_attempts", "rate_limited", "sent_per_task", "received_per_task", "task_s",
    "ttft_mean_ms", "ttft_first_ms", "turns_per_s", "tasks_per_s", "rate_limited_per_s", "sent_per_agent_s",
)  # fmt: skip


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def spec_path(self) -> Path:
        return self.root / "sweep.json"

    @property
    def cells_path(self) -> Path:
        return self.root / "cells.jsonl"

    def cell_folder(self, cell: CellSpec) -> Path:
        return self.root / "cells" / cell.id

    def exists(self) -> bool:
        return self.spec_path.exists()

    def read_spec(self) -> SweepSpec:
        try:
            return SweepSpec.from_dict(json.loads(self.spec_path.read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise AgentloadError(f"{self.spec_path}: not a sweep spec agentload can read ({e})") from None

    def write_spec(self, spec: SweepSpec) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.spec_path.write_text(json.dumps(asdict(spec), indent=2))

    def done(self) -> dict[str, dict[str, Any]]:
        """The finished cells by id (the last line of each id wins)."""
        if not self.cells_path.exists():
            return {}
        out: dict[str, dict[str, Any]] = {}
        for n, line in enumerate(self.cells_path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out[d["id"]] = d
            except (ValueError, KeyError, TypeError):
                raise AgentloadError(
                    f"{self.cells_path}: line {n} is not a cell record (remove the line, or run the "
                    "sweep again with a new --out)"
                ) from None
        return out

    def results(self) -> list[CellResult]:
        out = []
        for cid, d in self.done().items():
            try:
                out.append(CellResult.from_dict(d))
            except (KeyError, TypeError, ValueError):
                raise AgentloadError(
                    f"{self.cells_path}: cell {cid} was written by an older agentload (no totals); run "
                    "the sweep again with a new --out"
                ) from None
        return out

    def append(self, cell: CellSpec, res: CellResult, objectives: tuple[Objective, ...] = ()) -> None:
        row = {"id": cell.id, **res.as_dict(objectives)}
        with self.cells_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        csv_path = self.root / "cells.csv"
        new = not csv_path.exists()
        with csv_path.open("a", newline="") as f:
            w = csv.DictWriter(f, CSV_FIELDS)
            if new:
                w.writeheader()
            flat = {**row, **row["spec"]}
            w.writerow({k: flat.get(k) for k in CSV_FIELDS})
