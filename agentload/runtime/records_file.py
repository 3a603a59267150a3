"""The records file (--records): every TurnRecord and TaskRecord of this process as JSON lines.

A worker writes its own file, its id before the suffix (``records.<worker>.jsonl``). Records are
flushed task by task and when the agents stop, so an interrupted run keeps what it measured; the
file is closed only at the very end, after the last agent has recorded its cut-off turn.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import AgentloadError
from ..core.records import RecordsWriter, TaskRecord, TurnRecord
from .role import Role

if TYPE_CHECKING:
    from .context import RunContext

log = logging.getLogger("agentload")


def records_path(path: str, role: Role, worker_id: str) -> Path:
    p = Path(path)
    if role == Role.WORKER:
        p = p.with_name(f"{p.stem}.{worker_id}{p.suffix}")
    return p


class RecordsFile:
    def __init__(self) -> None:
        self.writer: RecordsWriter | None = None
        self.path: Path | None = None
        self.unwritten = 0  # records that could not be written (a full disk, say): counted, reported

    def open(self, path: Path) -> None:
        if self.writer is not None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            stream = path.open("w", encoding="utf-8")
        except OSError as e:
            raise AgentloadError(
                f"--records {path}: cannot write it ({e.strerror or e}); give a file path in a writable folder"
            ) from None
        self.writer, self.path = RecordsWriter(stream), path

    def write(self, record: TurnRecord | TaskRecord, outcome: Any = None) -> None:
        if self.writer is None:
            return
        try:
            self.writer.write(record)
        except (OSError, ValueError) as e:  # ValueError: the file was closed under it
            self.unwritten += 1
            if self.unwritten == 1:
                log.error("agentload: --records %s: cannot write (%s); records are being lost", self.path, e)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.stream.flush()

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except OSError:
                self.unwritten += 1
            self.writer = None
        if self.unwritten:
            print(f"agentload: {self.unwritten} records could not be written to {self.path}", file=sys.stderr)


def install(ctx: RunContext) -> RecordsFile:
    """The records file: written on every record, flushed when the agents stop, closed at the end."""
    records = RecordsFile()
    ctx.events.turn.add_listener(records.write)
    ctx.events.task.add_listener(records.write)
    ctx.events.agents_stopped.add_listener(records.flush)

    def close() -> None:
        records.close()
        if records.unwritten:
            ctx.exit_with(1)

    ctx.events.finish.add_listener(close)
    return records


def open_for(ctx: RunContext, records: RecordsFile) -> None:
    """Open the file the (current) options name, on a process that runs agents."""
    path = ctx.settings.options.records
    if path and ctx.role.runs_agents:
        records.open(records_path(path, ctx.role, ctx.worker_id))
