"""Finding and reading task files: the built-in tasks (package data), a user's files, shared ``base:`` files.

A task is named by its built-in name (``fix-failing-test``) or by a file path (YAML or JSON). The
built-in tasks ship inside the package (``agentload/workload/builtin``), so an installed agentload
finds them from any directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import TaskFileError
from .schema import parse_task
from .task import Task

TASKS_DIR = Path(__file__).resolve().parent / "builtin"
PROBE_SUBDIR = "probe"
# tasks found by name but not part of "all": the probe's calibration workloads, and the long session
NAMED_ONLY_SUBDIRS = (PROBE_SUBDIR, "long", "subagents")
TASK_SUFFIXES = (".yaml", ".yml", ".json")


def builtin_task_names(tasks_dir: Path = TASKS_DIR) -> list[str]:
    """Task files in ``tasks_dir``; files starting with ``_`` are shared bases, not tasks."""
    return sorted(p.stem for p in tasks_dir.glob("*.yaml") if not p.name.startswith("_"))


def resolve_task_path(name_or_path: str, tasks_dir: Path = TASKS_DIR) -> Path:
    """A task by built-in name (``fix-failing-test``) or by file path."""
    p = Path(name_or_path)
    if p.is_dir():
        raise TaskFileError(
            str(p),
            "",
            "is a folder",
            f"give a task file in it (e.g. {p / 'my-task.yaml'}) or a built-in name",
        )
    if p.suffix in TASK_SUFFIXES:
        if not p.is_file():
            raise TaskFileError(str(p), "", "file not found", "give an existing task file or a built-in name")
        return p
    candidate = tasks_dir / f"{name_or_path}.yaml"
    for sub in NAMED_ONLY_SUBDIRS:  # found by name, not part of "all"
        if not candidate.is_file():
            candidate = tasks_dir / sub / f"{name_or_path}.yaml"
    if not candidate.is_file():
        names = ", ".join(builtin_task_names(tasks_dir)) or "(none)"
        raise TaskFileError(name_or_path, "", "no such task", f"use a task file path or one of: {names}")
    return candidate


_LOADING: list[Path] = []  # the task files being read, outermost first (a subagent's task may name one)


def load_task(name_or_path: str, tasks_dir: Path = TASKS_DIR) -> Task:
    path = resolve_task_path(name_or_path, tasks_dir)
    if path.resolve() in _LOADING:
        raise TaskFileError(
            str(path),
            "",
            "spawns itself as a subagent (a cycle)",
            "name another task, or write the subagent inline",
        )
    _LOADING.append(path.resolve())
    try:
        return _load(path, tasks_dir)
    finally:
        _LOADING.pop()


def _subagent_resolver(path: Path, tasks_dir: Path) -> Callable[[str], Task]:
    """How a task file's subagents find the tasks they name: a file beside it, else a built-in name."""

    def resolve(name: str) -> Task:
        beside = path.parent / name
        return load_task(
            str(beside) if beside.suffix in TASK_SUFFIXES and beside.is_file() else name, tasks_dir
        )

    return resolve


def _load(path: Path, tasks_dir: Path) -> Task:
    data = _read_document(path)
    if isinstance(data, dict) and "base" in data:
        # `base: _coding_agent.yaml`: instructions, tools and tool_profile shared by several tasks
        ref = data.pop("base")
        if not isinstance(ref, str):
            raise TaskFileError(
                str(path), "base", "must be a file name", "write e.g. `base: _coding_agent.yaml`"
            )
        base_path = path.parent / ref
        if not base_path.is_file():
            raise TaskFileError(
                str(path),
                "base",
                f"{ref} not found next to the task",
                "put the base file in the same folder or fix the name",
            )
        base = _read_document(base_path)
        if not isinstance(base, dict):
            raise TaskFileError(str(base_path), "", "the document must be a mapping", "write a YAML mapping")
        allowed = {"instructions", "tools", "tool_profile"}
        extra = sorted(set(base) - allowed)
        if extra:
            raise TaskFileError(
                str(base_path),
                extra[0],
                "not allowed in a base file",
                f"a base holds only: {', '.join(sorted(allowed))}",
            )
        data = {**base, **data}
    return parse_task(data, str(path), _subagent_resolver(path, tasks_dir))


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TaskFileError(
            str(path), "", f"cannot read: {e.__class__.__name__}", "make it a UTF-8 text file"
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else f"line {getattr(e, 'lineno', '?')}"
        raise TaskFileError(str(path), where, "not valid YAML/JSON", "fix the syntax at that line") from None
    return data


def load_tasks(names: list[str], tasks_dir: Path = TASKS_DIR) -> list[Task]:
    return [load_task(n, tasks_dir) for n in names]
