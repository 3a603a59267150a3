"""The sweep report's session table: a cell measured from synthetic records keeps its sessions (roots
started in its window, with their subagents) through cells.jsonl, pools merge them, and the report shows
the table (Markdown, JSON) only when a cell spawned subagents."""

from __future__ import annotations

from typing import Any

from agentload.core.records import TaskRecord
from agentload.sweep.cells import CellResult, measure
from agentload.sweep.report import Pool, Report
from agentload.sweep.spec import CellSpec


def task(seq: int, sent: int, root: int | None = None, started: float = 10.0) -> dict[str, Any]:
    r = TaskRecord("ws", "fan", "m", 1, seq, started, 1000.0, 2, 1, sent, 2 * sent, root_seq=root,
                   parent_seq=root)  # fmt: skip
    return {**r.as_dict(), "source": "records.jsonl"}


def report(cells: list[CellResult]) -> Report:
    return Report([Pool("ws", "", "", cells)], 1000, header=None)  # type: ignore[arg-type]  # (unused here)


def test_a_cells_sessions_go_through_cells_jsonl_into_the_report() -> None:
    spec = CellSpec("ws", 1, "fan", "m")
    records = [task(2, 100, root=1), task(3, 100, root=1), task(1, 800), task(4, 5, started=99.0)]
    cell = measure(spec, records, 5.0, 20.0)
    assert (cell.sessions.sessions_ok, cell.sessions.session_sent, cell.sessions.subagents) == (1, 1000, 2)
    back = CellResult.from_dict(cell.as_dict())
    assert back.sessions == cell.sessions
    rep = report([back, back])
    (row,) = rep.session_rows()
    assert (row.sessions, row.sent_per_session, row.subagents_per_session) == (2, 1000.0, 2.0)
    assert "Per session" in rep.markdown_table()
    assert "| ws | 2 | 0 | 1.00 | 1.0 | 2.0 | 2.0 | 2.00 | 0.0 | 0 |" in rep.markdown_table()


def test_no_session_table_without_subagents() -> None:
    cell = measure(CellSpec("ws", 1, "fan", "m"), [task(1, 800)], 5.0, 20.0)
    rep = report([cell])
    assert rep.session_rows() == [] and "Per session" not in rep.markdown_table()
    old = cell.as_dict()
    del old["sessions"]  # a cell written before sessions were kept
    assert CellResult.from_dict(old).sessions.sessions_ok == 0
