"""``agentload import``: agent logs people already have, and public trace corpora, as task files (the
recorder's format)."""

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
from .tracelab import is_tracelab, read_tracelab
from .weka import is_weka, read_weka

FORMATS = "a Codex rollout, a Claude Code transcript, a TraceLab round trace or a Weka trace"


def read_log(path: Path) -> list[RecordedSession]:
    """The sessions in one log or trace, whichever format it is (told apart by its first line's fields:
    ``{timestamp, type: session_meta, payload}``, a transcript line's ``type`` and ``uuid``, a TraceLab
    round's ``session_id``, ``round_index`` and ``input_tokens_total``, a Weka trace's ``requests`` and
    ``block_size``; a .json file that is not JSON lines is read whole, as a Weka trace)."""
    if path.is_dir():
        raise LogError(path, 0, "is a folder", f"give the files in it (e.g. {path}/*.jsonl)")
    if not path.is_file():
        raise LogError(path, 0, "no such file", f"give {FORMATS} (.jsonl, .json)")
    try:
        first = next((obj for _, obj in json_lines(path)), None)
    except LogError:
        if path.name.endswith((".json", ".json.gz")):  # a trace written over several lines
            return read_weka(path)
        raise
    if first is None:
        raise LogError(path, 0, "empty", f"give {FORMATS}")
    if is_rollout(first):
        return read_rollout(path)
    if is_transcript(first):
        return read_transcript(path)
    if is_tracelab(first):
        return read_tracelab(path)
    if is_weka(first):
        return read_weka(path)
    raise LogError(path, 1, "neither a Codex rollout nor a Claude Code transcript nor a TraceLab round trace nor a Weka trace",
                   "give rollout-*.jsonl from CODEX_HOME/sessions, a .jsonl from ~/.claude/projects, TraceLab's "
                   "round JSONL or a kv-cache-tester trace (docs/recording.md)")  # fmt: skip


def task_name(stem: str, hint: str) -> str:
    """A task name (at most 64 of letters, digits, - and _) from a file's stem and a session's hint."""
    if not hint:
        return stem
    return f"{stem[: max(8, 63 - len(hint))]}-{hint}"[:64].strip("-")


def import_logs(paths: list[Path], out: Path, keep_content: bool = False, tools_from: str = "") -> list[Path]:
    """Writes each session of each log as a task file in ``out``; returns the files."""
    try:
        tools: list[dict[str, Any]] | None = list(load_task(tools_from).tools) if tools_from else None
    except TaskFileError as e:
        raise AgentloadError(f"--tools-from: {e}") from None
    written = []
    names: set[str] = set()
    # a Claude Code subagent's agent-*.jsonl given beside its session's file (a glob of the project's
    # folder) is that session's subagent, not a task of its own: such files are read last, if at all
    taken: set[str] = set()
    for path in sorted(paths, key=lambda p: p.name.startswith("agent-")):  # (stable: the others in order)
        if str(path.resolve()) in taken:
            continue
        sessions = read_log(path)
        taken |= {f for s in sessions for f in s.read_also}
        base = path.name.removesuffix(".gz").rsplit(".", 1)[0]
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-")[:48] or "session"
        for k, session in enumerate(sessions):
            if tools is not None:
                session.tools = _merge_tools(tools, session)
            name = (
                task_name(stem, session.name_hint)
                if session.name_hint
                else stem + (f"-p{k + 1}" if k else "")
            )
            while name in names:  # (two sessions whose ids start alike, or two files of one name)
                name = f"{name[:60]}-{len(names) % 1000}"
            names.add(name)
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
