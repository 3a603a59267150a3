"""``agentload import``: agent logs people already have, as task files (the recorder's format)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.errors import AgentloadError, TaskFileError
from ..workload import load_task
from .claude_transcript import is_transcript, read_transcript
from .codex_rollout import is_rollout, read_rollout
from .logs import LogError, json_lines
from .session import RecordedSession
from .taskdoc import task_document, write_task


def read_log(path: Path) -> list[RecordedSession]:
    """The sessions in one log, whichever agent wrote it (told apart by its first line)."""
    if path.is_dir():
        raise LogError(path, 0, "is a folder", f"give the log files in it (e.g. {path}/*.jsonl)")
    if not path.is_file():
        raise LogError(path, 0, "no such file", "give a Codex rollout or a Claude Code transcript (.jsonl)")
    first = next((obj for _, obj in json_lines(path)), None)
    if first is None:
        raise LogError(path, 0, "empty", "give a Codex rollout or a Claude Code transcript (.jsonl)")
    if is_rollout(first):
        return read_rollout(path)
    if is_transcript(first):
        return read_transcript(path)
    raise LogError(path, 1, "neither a Codex rollout nor a Claude Code transcript",
                   "give rollout-*.jsonl from CODEX_HOME/sessions or a .jsonl from ~/.claude/projects")  # fmt: skip


def import_logs(paths: list[Path], out: Path, keep_content: bool = False, tools_from: str = "") -> list[Path]:
    """Writes each session of each log as a task file in ``out``; returns the files."""
    try:
        tools: list[dict[str, Any]] | None = list(load_task(tools_from).tools) if tools_from else None
    except TaskFileError as e:
        raise AgentloadError(f"--tools-from: {e}") from None
    written = []
    for path in paths:
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-")[:48] or "session"
        for k, session in enumerate(read_log(path)):
            if tools is not None:
                session.tools = _merge_tools(tools, session)
            name = stem + (f"-p{k + 1}" if k else "")
            target = out / f"{name}.yaml"
            write_task(task_document(session, name, keep_content), target)
            written.append(target)
    return written


def _merge_tools(declared: list[dict[str, Any]], session: RecordedSession) -> list[dict[str, Any]]:
    """The declared tools, and any called tool they lack (with an empty schema)."""
    names = {t.get("name") for t in declared}
    for t in declared:
        names |= {i.get("name") for i in t.get("tools") or [] if isinstance(i, dict)}
    extra = [t for t in session.tools if t.get("name") not in names]
    return declared + extra
