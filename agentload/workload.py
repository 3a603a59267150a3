"""Coding-task workloads: the schema of a task file, its loader and validator.

A task file (YAML or JSON, under tasks/) is a replay script of one real coding session: the
instructions and tool definitions the agent sends (their size is what stateless HTTP resends every
turn), the user prompt, and per turn the tool calls the model makes with the size, kind and latency of
each tool result. The mock's scripted model follows the same file, so the client and the mock agree on
every byte without talking about it. Against a real model, the ``tool_profile`` answers whatever tool
calls arrive.

Every schema error names the file, the field path and the fix (``TaskFileError``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import TaskFileError
from .synth import KINDS, TextCache, synth_text

TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
PROBE_SUBDIR = "probe"
SCHEMA_VERSION = 1
MAX_TURNS = 200


@dataclass(frozen=True)
class ToolResultSpec:
    """What a tool call returns: literal ``text``, or ``bytes`` of synthetic content of ``kind``."""

    kind: str
    bytes: int
    text: str | None = None
    latency_s: float = 0.0

    def render(self, seed: str, cache: TextCache | None = None) -> str:
        if self.text is not None:
            return self.text
        if cache is not None:
            return cache.text(self.kind, self.bytes, seed)
        return synth_text(self.kind, self.bytes, seed)


@dataclass(frozen=True)
class ToolCall:
    tool: str
    arguments: str  # the JSON string the model emits, exactly as on the wire
    result: ToolResultSpec


@dataclass(frozen=True)
class Turn:
    calls: tuple[ToolCall, ...]


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    instructions: str
    tools: tuple[dict[str, Any], ...]
    prompt: str
    turns: tuple[Turn, ...]
    final_message: str
    tool_profile: dict[str, ToolResultSpec]
    max_turns: int
    source: str = field(default="", compare=False)

    @property
    def tool_calls(self) -> int:
        return sum(len(t.calls) for t in self.turns)

    def profile_for(self, tool: str) -> ToolResultSpec:
        """Result spec for a tool call a real model made (falls back to the ``default`` profile)."""
        return self.tool_profile.get(tool) or self.tool_profile["default"]


# --------------------------------------------------------------------------------------------- loading


def builtin_task_names(tasks_dir: Path = TASKS_DIR) -> list[str]:
    """Task files in ``tasks_dir``; files starting with ``_`` are shared bases, not tasks."""
    return sorted(p.stem for p in tasks_dir.glob("*.yaml") if not p.name.startswith("_"))


def resolve_task_path(name_or_path: str, tasks_dir: Path = TASKS_DIR) -> Path:
    """A task by built-in name (``fix-failing-test``) or by file path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml", ".json"):
        if not p.is_file():
            raise TaskFileError(str(p), "", "file not found", "give an existing task file or a built-in name")
        return p
    candidate = tasks_dir / f"{name_or_path}.yaml"
    if not candidate.is_file():  # the probe's calibration workloads: found by name, not part of "all"
        candidate = tasks_dir / PROBE_SUBDIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        names = ", ".join(builtin_task_names(tasks_dir)) or "(none)"
        raise TaskFileError(name_or_path, "", "no such task", f"use a task file path or one of: {names}")
    return candidate


def load_task(name_or_path: str, tasks_dir: Path = TASKS_DIR) -> Task:
    path = resolve_task_path(name_or_path, tasks_dir)
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
    return parse_task(data, str(path))


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


# --------------------------------------------------------------------------------------------- parsing


class _Checker:
    """Field access that turns every mismatch into a TaskFileError with the field's path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str, fix: str) -> TaskFileError:
        return TaskFileError(self.file, path, problem, fix)

    def get(
        self,
        obj: dict,
        key: str,
        path: str,
        typ: type | tuple,
        *,
        required: bool = True,
        default: Any = None,
        fix: str = "",
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            if required:
                raise self.fail(full, "missing", fix or f"add `{key}`")
            return default
        value = obj[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (isinstance(value, bool) and typ in (int, float)):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise self.fail(full, f"must be {names}, got {type(value).__name__}", f"make `{key}` a {names}")
        return value

    def unknown(self, obj: dict, allowed: set[str], path: str) -> None:
        extra = sorted(set(obj) - allowed)
        if extra:
            where = f"{path}.{extra[0]}" if path else extra[0]
            raise self.fail(where, "unknown field", f"remove it or use one of: {', '.join(sorted(allowed))}")

    def result_spec(self, obj: Any, path: str) -> ToolResultSpec:
        if not isinstance(obj, dict):
            raise self.fail(
                path, "must be a mapping", "write e.g. `{kind: python, bytes: 2400, latency_ms: 20}`"
            )
        self.unknown(obj, {"kind", "bytes", "text", "latency_ms"}, path)
        text = self.get(obj, "text", path, str, required=False)
        kind = self.get(obj, "kind", path, str, required=False, default="text")
        if kind not in KINDS:
            raise self.fail(f"{path}.kind", f"unknown kind {kind!r}", f"use one of: {', '.join(KINDS)}")
        n = self.get(
            obj,
            "bytes",
            path,
            int,
            required=text is None,
            fix="give `bytes` (size of the synthetic result) or a literal `text`",
        )
        if n is not None and not 0 <= n <= 10_000_000:
            raise self.fail(f"{path}.bytes", f"{n} out of range", "use 0 to 10000000")
        latency_ms = self.get(obj, "latency_ms", path, float, required=False, default=0.0)
        if latency_ms < 0:
            raise self.fail(f"{path}.latency_ms", "negative", "use 0 or more milliseconds")
        size = len(text.encode()) if text is not None else n
        return ToolResultSpec(kind=kind, bytes=size, text=text, latency_s=latency_ms / 1000.0)

    def arguments(self, obj: Any, path: str, seed: str) -> str:
        """Tool-call arguments: a mapping whose values may be ``{synth: KIND, bytes: N}`` placeholders
        (an edit's new file content, say), serialized as the model would emit them."""
        if not isinstance(obj, dict):
            raise self.fail(path, "must be a mapping", "write the call's JSON arguments as a mapping")

        def expand(value: Any, sub: str) -> Any:
            if isinstance(value, dict) and "synth" in value:
                self.unknown(value, {"synth", "bytes"}, sub)
                kind = self.get(value, "synth", sub, str)
                if kind not in KINDS:
                    raise self.fail(
                        f"{sub}.synth", f"unknown kind {kind!r}", f"use one of: {', '.join(KINDS)}"
                    )
                return synth_text(kind, self.get(value, "bytes", sub, int), f"{seed}:{sub}")
            if isinstance(value, dict):
                return {k: expand(v, f"{sub}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [expand(v, f"{sub}[{i}]") for i, v in enumerate(value)]
            return value

        return json.dumps(expand(obj, path), separators=(",", ":"))


def parse_task(data: Any, file: str) -> Task:
    """Validate a decoded task document; every problem raises TaskFileError naming the field."""
    c = _Checker(file)
    if not isinstance(data, dict):
        raise c.fail(
            "", "the document must be a mapping", "start from one of the built-in tasks under tasks/"
        )
    c.unknown(
        data,
        {
            "schema",
            "name",
            "description",
            "instructions",
            "tools",
            "prompt",
            "turns",
            "final_message",
            "tool_profile",
            "max_turns",
        },
        "",
    )
    schema = c.get(data, "schema", "", int, required=False, default=SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise c.fail("schema", f"unsupported version {schema}", f"set `schema: {SCHEMA_VERSION}`")
    name = c.get(data, "name", "", str)
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise c.fail("name", f"{name!r} is not a plain name", "use letters, digits, - and _ (64 at most)")

    tools_raw = c.get(data, "tools", "", list)
    tools: list[dict[str, Any]] = []
    tool_names: set[str] = set()
    for i, t in enumerate(tools_raw):
        p = f"tools[{i}]"
        if not isinstance(t, dict):
            raise c.fail(p, "must be a mapping", "write `{name: ..., description: ..., parameters: {...}}`")
        c.unknown(t, {"type", "name", "description", "parameters", "strict"}, p)
        tname = c.get(t, "name", p, str)
        if tname in tool_names:
            raise c.fail(f"{p}.name", f"duplicate tool {tname!r}", "give every tool a distinct name")
        tool_names.add(tname)
        tool = {
            "type": c.get(t, "type", p, str, required=False, default="function"),
            "name": tname,
            "description": c.get(t, "description", p, str, required=False, default=""),
            "parameters": c.get(
                t, "parameters", p, dict, required=False, default={"type": "object", "properties": {}}
            ),
            "strict": c.get(t, "strict", p, bool, required=False, default=False),
        }
        if tool["type"] != "function":
            raise c.fail(f"{p}.type", f"unsupported tool type {tool['type']!r}", "use `function`")
        tools.append(tool)
    if not tools:
        raise c.fail("tools", "empty", "define at least one function tool")

    profile: dict[str, ToolResultSpec] = {}
    raw_profile = c.get(data, "tool_profile", "", dict, required=False, default={})
    for tname, spec in raw_profile.items():
        if tname != "default" and tname not in tool_names:
            raise c.fail(
                f"tool_profile.{tname}",
                "not a defined tool",
                f"use `default` or one of: {', '.join(sorted(tool_names))}",
            )
        profile[tname] = c.result_spec(spec, f"tool_profile.{tname}")
    profile.setdefault("default", ToolResultSpec(kind="text", bytes=1000, latency_s=0.02))

    turns: list[Turn] = []
    for ti, turn in enumerate(c.get(data, "turns", "", list)):
        p = f"turns[{ti}]"
        if not isinstance(turn, dict):
            raise c.fail(p, "must be a mapping", "write `{calls: [...]}`")
        c.unknown(turn, {"calls"}, p)
        calls = []
        raw_calls = c.get(turn, "calls", p, list)
        if not raw_calls:
            raise c.fail(
                f"{p}.calls",
                "empty",
                "a turn makes at least one tool call; put the last answer in final_message",
            )
        for ci, call in enumerate(raw_calls):
            cp = f"{p}.calls[{ci}]"
            if not isinstance(call, dict):
                raise c.fail(cp, "must be a mapping", "write `{tool: read_file, args: {...}, result: {...}}`")
            c.unknown(call, {"tool", "args", "result"}, cp)
            tool = c.get(call, "tool", cp, str)
            if tool not in tool_names:
                raise c.fail(
                    f"{cp}.tool", f"unknown tool {tool!r}", f"use one of: {', '.join(sorted(tool_names))}"
                )
            args = c.arguments(
                c.get(call, "args", cp, dict, required=False, default={}), f"{cp}.args", f"{name}:{ti}:{ci}"
            )
            result = (
                c.result_spec(call["result"], f"{cp}.result")
                if call.get("result") is not None
                else profile.get(tool) or profile["default"]
            )
            calls.append(ToolCall(tool=tool, arguments=args, result=result))
        turns.append(Turn(calls=tuple(calls)))
    # no turns of tool calls: a one-answer task (the rate-limit probe's calibration workloads)
    max_turns = c.get(data, "max_turns", "", int, required=False, default=max(len(turns) + 1, 10))
    if not 1 <= max_turns <= MAX_TURNS:
        raise c.fail("max_turns", f"{max_turns} out of range", f"use 1 to {MAX_TURNS}")

    return Task(
        name=name,
        description=c.get(data, "description", "", str, required=False, default=""),
        instructions=c.get(data, "instructions", "", str),
        tools=tuple(tools),
        prompt=c.get(data, "prompt", "", str),
        turns=tuple(turns),
        final_message=c.get(data, "final_message", "", str),
        tool_profile=profile,
        max_turns=max_turns,
        source=file,
    )
