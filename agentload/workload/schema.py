"""The task file format: its validator, where every problem names the file, the field path and the fix.

A task file (YAML or JSON) holds ``name``, ``instructions``, ``tools`` (function tools with JSON-schema
``parameters``), ``prompt``, ``turns`` (each a list of ``calls``: tool, arguments, and the result's
kind, size and latency), ``final_message``, and optionally ``tool_profile`` (what any other call of a
tool returns), ``max_turns`` and ``reasoning_tokens`` (what a reasoning model thinks per turn; a
turn may say its own). ``base: FILE`` takes instructions, tools and tool_profile from a
shared file beside it.

Recorded and imported tasks (agentload.recording) also use: tools of any type (function tools are
checked, others kept as the client declared them), calls of ``custom`` tools with a raw ``input``, a
turn's ``message`` (what the model writes before its calls: ``bytes`` or ``text``),
``context`` (messages before the prompt: role, sizes or text of their parts, whether the warm-up carries
them), ``client_profile`` (a profile name or mapping: agentload.workload.profile), and ``recorded``
(what the recording measured, for the task and per turn: kept, not interpreted).

Sessions imported from public traces (hundreds of turns, several prompts, every round a turn) also
use, per turn: ``calls: []`` (an answer: the session goes on where the next turn carries the user's
next message, else its task ends there), ``user_message`` (a later message of the user's that the
turn's request carries: ``bytes`` or ``text``; not on the first turn, whose is the prompt), ``pause_s``
(the human's pause before it, held by the agent at its --time-scale), ``compacted`` (the context shrank
for this request: the agent compacts it) and ``subagents`` (how many subagents its calls started).
``max_turns`` may exceed 200 where the file scripts more turns.

A call may spawn subagents (``subagents``: a list), which run in parallel while the parent waits for
them all; the call's output is their final messages. Each is ``fresh`` (a conversation of its own:
its own instructions and prompt) or ``fork`` (it continues from the parent's latest response, then
its own prompt), and either inline (``prompt``, ``turns``, ``final_message``; the parent's tools) or
another task by name (``task: NAME``, a built-in name or a file beside this one). Subagents may spawn
their own, to a depth of ``MAX_SUBAGENT_DEPTH``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import TaskFileError
from .profile import ClientProfile, load_profile, parse_profile
from .synth import KINDS, synth_text
from .task import ContextMessage, Subagent, SubagentKind, Task, ToolCall, ToolResultSpec, Turn, subagent_place

SCHEMA_VERSION = 1
MAX_TURNS = 200
MAX_REASONING_TOKENS = 100_000
MAX_SUBAGENT_DEPTH = 3  # a subagent's subagent's subagent, and no deeper
MAX_SUBAGENTS_PER_CALL = 16  # (a WebSocket runs 16 responses at once: ws-mux's lanes)

Resolve = Callable[[str], Task]  # a task by name (a built-in name, or a file beside the one read)


class _Checker:
    """Field access that turns every mismatch into a TaskFileError with the field's path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str, fix: str) -> TaskFileError:
        return TaskFileError(self.file, path, problem, fix)

    def get(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        typ: type | tuple[type, ...],
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

    def unknown(self, obj: dict[str, Any], allowed: Set[str], path: str) -> None:
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

    def raw_input(self, obj: Any, path: str, seed: str) -> str:
        """A custom tool call's raw input: a string, or a ``{synth: KIND, bytes: N}`` placeholder."""
        if isinstance(obj, str):
            return obj
        if isinstance(obj, dict) and "synth" in obj:
            self.unknown(obj, {"synth", "bytes"}, path)
            kind = self.get(obj, "synth", path, str)
            if kind not in KINDS:
                raise self.fail(f"{path}.synth", f"unknown kind {kind!r}", f"use one of: {', '.join(KINDS)}")
            return synth_text(kind, self.get(obj, "bytes", path, int), seed)
        raise self.fail(
            path, "must be a string or {synth: KIND, bytes: N}", "write the custom tool's raw input"
        )

    def text_parts(self, obj: dict[str, Any], path: str, seed: str) -> tuple[str, ...]:
        """A message's text: ``text``, ``bytes`` (one synthetic part) or ``parts`` (sizes or texts)."""
        if "text" in obj:
            return (self.get(obj, "text", path, str),)
        if "bytes" in obj:
            n = self.get(obj, "bytes", path, int)
            if not 0 <= n <= 10_000_000:
                raise self.fail(f"{path}.bytes", f"{n} out of range", "use 0 to 10000000")
            return (synth_text("text", n, seed),)
        parts = self.get(obj, "parts", path, list, fix="give `text`, `bytes` or `parts`")
        out = []
        for i, part in enumerate(parts):
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, int) and not isinstance(part, bool) and 0 <= part <= 10_000_000:
                out.append(synth_text("text", part, f"{seed}:{i}"))
            else:
                raise self.fail(
                    f"{path}.parts[{i}]", "must be a text or a size", "write a string or a byte count"
                )
        return tuple(out)


def _tool_names(tools: list[dict[str, Any]]) -> set[str]:
    """Names a model may call: every named tool, and the tools inside a namespace."""
    names = set()
    for t in tools:
        if isinstance(t.get("name"), str):
            names.add(t["name"])
        for inner in t.get("tools") or []:
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                names.add(inner["name"])
    return names


def _turn_message(c: _Checker, turn: dict[str, Any], path: str, seed: str) -> str | None:
    """What the model writes before a turn's calls: ``{bytes: N}`` (synthetic) or ``{text: ...}``."""
    raw = turn.get("message")
    if raw is None:
        return None
    where = f"{path}.message"
    if not isinstance(raw, dict):
        raise c.fail(where, "must be a mapping", "write `{bytes: 120}` or `{text: ...}`")
    c.unknown(raw, {"text", "bytes"}, where)
    return "".join(c.text_parts(raw, where, seed))


def _recorded(c: _Checker, obj: dict[str, Any], path: str) -> dict[str, Any]:
    rec = c.get(obj, "recorded", path, dict, required=False, default={})
    return dict(rec)


def _profile(c: _Checker, data: dict[str, Any]) -> ClientProfile | None:
    raw = data.get("client_profile")
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return load_profile(raw)
        except TaskFileError as e:
            raise c.fail("client_profile", e.problem, e.fix) from None
    return parse_profile(raw, c.file, "client_profile")


def _reasoning(c: _Checker, obj: dict[str, Any], path: str) -> int | None:
    """``reasoning_tokens``: what a reasoning model thinks per turn (0 to 100,000), or absent."""
    n: int | None = c.get(obj, "reasoning_tokens", path, int, required=False, default=None)
    if n is not None and not 0 <= n <= MAX_REASONING_TOKENS:
        where = f"{path}.reasoning_tokens" if path else "reasoning_tokens"
        raise c.fail(where, f"{n} out of range", f"use 0 to {MAX_REASONING_TOKENS:,}")
    return n


TASK_FIELDS = frozenset(
    {
        "schema", "name", "description", "instructions", "tools", "prompt", "turns", "final_message",
        "tool_profile", "max_turns", "reasoning_tokens", "context", "client_profile", "recorded",
    }
)  # fmt: skip


def parse_task(data: Any, file: str, resolve: Resolve | None = None) -> Task:
    """Validate a decoded task document; every problem raises TaskFileError naming the field.
    ``resolve`` finds the tasks its subagents name (None: a subagent may not name one)."""
    return _parse_task(data, file, resolve, 0)


def _parse_task(data: Any, file: str, resolve: Resolve | None, depth: int) -> Task:
    c = _Checker(file)
    if not isinstance(data, dict):
        raise c.fail(
            "",
            "the document must be a mapping",
            "start from tasks/example-two-turn.yaml in a checkout, or from agentload/workload/builtin/ in the package",
        )
    c.unknown(data, TASK_FIELDS, "")
    schema = c.get(data, "schema", "", int, required=False, default=SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise c.fail("schema", f"unsupported version {schema}", f"set `schema: {SCHEMA_VERSION}`")
    name = c.get(data, "name", "", str)
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise c.fail("name", f"{name!r} is not a plain name", "use letters, digits, - and _ (64 at most)")
    tools = _tools(c, c.get(data, "tools", "", list))
    profile = _tool_profile(c, data, tools.names)
    instructions = c.get(data, "instructions", "", str)
    client_profile = _profile(c, data)
    parent = _Parent(name, instructions, tools, profile, client_profile, depth, resolve)
    turns = [
        _turn(c, turn, f"turns[{ti}]", f"{name}:{ti}", parent, ti)
        for ti, turn in enumerate(c.get(data, "turns", "", list))
    ]
    # no turns of tool calls: a one-answer task (the rate-limit probe's calibration workloads)
    max_turns = c.get(data, "max_turns", "", int, required=False, default=max(len(turns) + 1, 10))
    limit = max(MAX_TURNS, len(turns) + 1)  # an imported session may script hundreds of turns
    if not 1 <= max_turns <= limit:
        raise c.fail("max_turns", f"{max_turns} out of range", f"use 1 to {limit}")

    return Task(
        name=name,
        description=c.get(data, "description", "", str, required=False, default=""),
        instructions=instructions,
        tools=tuple(tools.declared),
        prompt=c.get(data, "prompt", "", str),
        turns=tuple(turns),
        final_message=c.get(data, "final_message", "", str),
        tool_profile=profile,
        max_turns=max_turns,
        reasoning_tokens=_reasoning(c, data, ""),
        source=file,
        context=_context(c, data, name),
        client_profile=client_profile,
        recorded=_recorded(c, data, ""),
    )


@dataclass(frozen=True)
class _Parent:
    """What a task's turns and calls are parsed within: the task's name, its instructions, tools and
    profiles (an inline subagent's too), its depth below the root task, and how to find named tasks."""

    name: str
    instructions: str
    tools: _Tools
    profile: dict[str, ToolResultSpec]
    client_profile: ClientProfile | None
    depth: int
    resolve: Resolve | None


@dataclass
class _Tools:
    """A task's tools: as declared (what requests send), the names a call may use, the custom ones."""

    declared: list[dict[str, Any]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    custom: set[str] = field(default_factory=set)


def _tools(c: _Checker, raw: list[Any]) -> _Tools:
    """``tools``: function tools checked and filled in; a recorded client's other tools as declared."""
    tools = _Tools()
    for i, t in enumerate(raw):
        p = f"tools[{i}]"
        if not isinstance(t, dict):
            raise c.fail(p, "must be a mapping", "write `{name: ..., description: ..., parameters: {...}}`")
        ttype = c.get(t, "type", p, str, required=False, default="function")
        if (
            ttype != "function"
        ):  # a recorded client's own tool (custom, namespace, web_search...): as declared
            if ttype == "custom":
                tools.custom.add(c.get(t, "name", p, str))
            tname = t.get("name")
            if isinstance(tname, str) and tname in tools.names:
                raise c.fail(f"{p}.name", f"duplicate tool {tname!r}", "give every tool a distinct name")
            tools.declared.append(dict(t))
            tools.names |= _tool_names([t])
            continue
        c.unknown(t, {"type", "name", "description", "parameters", "strict"}, p)
        tname = c.get(t, "name", p, str)
        if tname in tools.names:
            raise c.fail(f"{p}.name", f"duplicate tool {tname!r}", "give every tool a distinct name")
        tools.names.add(tname)
        tools.declared.append(
            {
                "type": "function",
                "name": tname,
                "description": c.get(t, "description", p, str, required=False, default=""),
                "parameters": c.get(
                    t, "parameters", p, dict, required=False, default={"type": "object", "properties": {}}
                ),
                "strict": c.get(t, "strict", p, bool, required=False, default=False),
            }
        )
    return tools


def _tool_profile(c: _Checker, data: dict[str, Any], tool_names: set[str]) -> dict[str, ToolResultSpec]:
    """``tool_profile``: what a call of each tool returns where the call does not say (and ``default``)."""
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
    return profile


TURN_FIELDS = frozenset(
    {"calls", "reasoning_tokens", "recorded", "message", "user_message", "pause_s", "compacted", "subagents"}
)
MAX_SUBAGENTS = 1_000


def _turn(c: _Checker, turn: Any, p: str, seed: str, parent: _Parent, ti: int) -> Turn:
    """One of ``turns``: its calls (none: an answer, as an imported session has; a replay's task ends
    there), reasoning, message, what the user wrote before it and after what pause, whether the context
    was compacted, the subagents it started, and what was recorded of it."""
    if not isinstance(turn, dict):
        raise c.fail(p, "must be a mapping", "write `{calls: [...]}`")
    c.unknown(turn, TURN_FIELDS, p)
    raw_calls = c.get(turn, "calls", p, list)
    calls = [
        _call(c, call, f"{p}.calls[{ci}]", f"{seed}:{ci}", parent, (ti, ci))
        for ci, call in enumerate(raw_calls)
    ]
    user = _user_message(c, turn, p, f"{seed}:user", ti == 0)
    pause_s = c.get(turn, "pause_s", p, float, required=False, default=None)
    if pause_s is not None:
        if not 0 <= pause_s < float("inf"):
            raise c.fail(f"{p}.pause_s", f"{pause_s} out of range", "use 0 or more seconds")
        if user is None:
            raise c.fail(
                f"{p}.pause_s",
                "a pause with no user_message",
                "give the turn the `user_message` it waits for",
            )
    subagents = c.get(turn, "subagents", p, int, required=False, default=0)
    if not 0 <= subagents <= MAX_SUBAGENTS:
        raise c.fail(f"{p}.subagents", f"{subagents} out of range", f"use 0 to {MAX_SUBAGENTS:,}")
    return Turn(
        calls=tuple(calls),
        reasoning_tokens=_reasoning(c, turn, p),
        recorded=_recorded(c, turn, p) or None,
        message=_turn_message(c, turn, p, f"{seed}:message"),
        user_message=user,
        pause_s=pause_s,
        compacted=c.get(turn, "compacted", p, bool, required=False, default=False),
        subagents=subagents,
    )


def _user_message(c: _Checker, turn: dict[str, Any], path: str, seed: str, first: bool) -> str | None:
    """A later message of the user's that a turn's request carries: ``{bytes: N}`` or ``{text: ...}``."""
    raw = turn.get("user_message")
    if raw is None:
        return None
    where = f"{path}.user_message"
    if first:
        raise c.fail(where, "on the first turn", "the first turn's user message is the task's `prompt`")
    if not isinstance(raw, dict):
        raise c.fail(where, "must be a mapping", "write `{bytes: 120}` or `{text: ...}`")
    c.unknown(raw, {"text", "bytes"}, where)
    return "".join(c.text_parts(raw, where, seed))


def _call(c: _Checker, call: Any, cp: str, seed: str, parent: _Parent, place: tuple[int, int]) -> ToolCall:
    """One call of a turn: a declared tool, its arguments (a custom tool's raw ``input``) and its result
    (its own, else the tool's in the profile, else the profile's default), or the subagents it spawns
    (whose final messages are its result)."""
    tools, profile = parent.tools, parent.profile
    if not isinstance(call, dict):
        raise c.fail(cp, "must be a mapping", "write `{tool: read_file, args: {...}, result: {...}}`")
    c.unknown(call, {"tool", "args", "input", "result", "subagents"}, cp)
    tool = c.get(call, "tool", cp, str)
    if tool not in tools.names:
        raise c.fail(f"{cp}.tool", f"unknown tool {tool!r}", f"use one of: {', '.join(sorted(tools.names))}")
    custom = tool in tools.custom
    if custom:
        if "args" in call:
            raise c.fail(f"{cp}.args", "a custom tool takes `input`", "write its raw `input` instead")
        args = c.raw_input(call.get("input", ""), f"{cp}.input", seed)
    else:
        if "input" in call:
            raise c.fail(f"{cp}.input", "only custom tools take `input`", "write `args` for a function tool")
        args = c.arguments(c.get(call, "args", cp, dict, required=False, default={}), f"{cp}.args", seed)
    if call.get("subagents") is not None:
        if call.get("result") is not None:
            raise c.fail(
                f"{cp}.result",
                "a call that spawns subagents has their final messages as its result",
                "remove `result` or `subagents`",
            )
        subagents = _subagents(c, call, cp, parent, place)
        return ToolCall(tool, args, ToolResultSpec(kind="text", bytes=0), custom, subagents)
    result = (
        c.result_spec(call["result"], f"{cp}.result")
        if call.get("result") is not None
        else profile.get(tool) or profile["default"]
    )
    return ToolCall(tool=tool, arguments=args, result=result, custom=custom)


SUBAGENT_FIELDS = frozenset(
    {"kind", "task", "prompt", "instructions", "turns", "final_message", "reasoning_tokens", "max_turns"}
)


def _subagents(
    c: _Checker, call: dict[str, Any], cp: str, parent: _Parent, place: tuple[int, int]
) -> tuple[Subagent, ...]:
    """A call's ``subagents``: each fresh or a fork, inline or another task by name, at most
    ``MAX_SUBAGENTS_PER_CALL``, nested to ``MAX_SUBAGENT_DEPTH`` at most."""
    raw = c.get(call, "subagents", cp, list)
    where = f"{cp}.subagents"
    if not 1 <= len(raw) <= MAX_SUBAGENTS_PER_CALL:
        raise c.fail(where, f"{len(raw)} subagents", f"give 1 to {MAX_SUBAGENTS_PER_CALL}")
    depth = parent.depth + 1
    if depth > MAX_SUBAGENT_DEPTH:
        raise c.fail(
            where,
            f"subagents nested {depth} deep",
            f"nest at most {MAX_SUBAGENT_DEPTH} deep (a subagent's subagent's subagent)",
        )
    out = []
    for si, sub in enumerate(raw):
        sp = f"{where}[{si}]"
        if not isinstance(sub, dict):
            raise c.fail(
                sp, "must be a mapping", "write `{kind: fork, prompt: ..., turns: [...], final_message: ...}`"
            )
        c.unknown(sub, SUBAGENT_FIELDS, sp)
        kind_name = c.get(sub, "kind", sp, str, required=False, default=SubagentKind.FRESH.value)
        if kind_name not in SubagentKind.__members__.values():
            raise c.fail(f"{sp}.kind", f"unknown kind {kind_name!r}", "use fresh or fork")
        kind = SubagentKind(kind_name)
        name = f"{parent.name}.{subagent_place(place[0], place[1], si)}"
        task = _named_subagent(c, sub, sp, parent, depth) if "task" in sub else None
        if task is None:
            task = _inline_subagent(c, sub, sp, parent, name, kind, depth)
        out.append(Subagent(kind, task.renamed(name)))
    return tuple(out)


def _named_subagent(c: _Checker, sub: dict[str, Any], sp: str, parent: _Parent, depth: int) -> Task:
    """A subagent that is another task by name: that task, its own subagents within the depth."""
    name = c.get(sub, "task", sp, str)
    inline = sorted(set(sub) & {"prompt", "instructions", "turns", "final_message"})
    if inline:
        raise c.fail(
            f"{sp}.{inline[0]}", "beside `task`", "give a task by name or an inline subagent, not both"
        )
    if parent.resolve is None:
        raise c.fail(f"{sp}.task", "no task file to find it beside", "write the subagent inline")
    try:
        task = parent.resolve(name)
    except TaskFileError as e:
        raise c.fail(f"{sp}.task", f"task {name!r}: {e.problem}", e.fix) from None
    if depth + task.nesting > MAX_SUBAGENT_DEPTH:
        raise c.fail(
            f"{sp}.task",
            f"task {name!r} nests its own subagents {task.nesting} deep, {depth + task.nesting} in all",
            f"nest at most {MAX_SUBAGENT_DEPTH} deep",
        )
    return task


def _inline_subagent(
    c: _Checker, sub: dict[str, Any], sp: str, parent: _Parent, name: str, kind: SubagentKind, depth: int
) -> Task:
    """An inline subagent: its prompt, turns and final message, the parent's tools (a fork continues
    the parent's conversation, whose tools are these) and, when fresh, instructions of its own."""
    if kind == SubagentKind.FORK and "instructions" in sub:
        raise c.fail(
            f"{sp}.instructions",
            "a fork continues its parent's conversation, instructions and all",
            "remove it, or make the subagent `kind: fresh`",
        )
    instructions = c.get(sub, "instructions", sp, str, required=False, default=parent.instructions)
    child = _Parent(
        name, instructions, parent.tools, parent.profile, parent.client_profile, depth, parent.resolve
    )
    turns = [
        _turn(c, turn, f"{sp}.turns[{ti}]", f"{name}:{ti}", child, ti)
        for ti, turn in enumerate(c.get(sub, "turns", sp, list))
    ]
    max_turns = c.get(sub, "max_turns", sp, int, required=False, default=max(len(turns) + 1, 10))
    if not 1 <= max_turns <= max(MAX_TURNS, len(turns) + 1):
        raise c.fail(
            f"{sp}.max_turns", f"{max_turns} out of range", f"use 1 to {max(MAX_TURNS, len(turns) + 1)}"
        )
    return Task(
        name=name,
        description="",
        instructions=instructions,
        tools=tuple(parent.tools.declared),
        prompt=c.get(sub, "prompt", sp, str),
        turns=tuple(turns),
        final_message=c.get(sub, "final_message", sp, str),
        tool_profile=parent.profile,
        max_turns=max_turns,
        reasoning_tokens=_reasoning(c, sub, sp),
        source=c.file,
        client_profile=parent.client_profile,
    )


CONTEXT_ROLES = ("developer", "system", "user", "assistant")


def _context(c: _Checker, data: dict[str, Any], name: str) -> tuple[ContextMessage, ...]:
    out = []
    for i, m in enumerate(c.get(data, "context", "", list, required=False, default=[])):
        p = f"context[{i}]"
        if not isinstance(m, dict):
            raise c.fail(p, "must be a mapping", "write `{role: developer, bytes: 2000}`")
        c.unknown(m, {"role", "text", "bytes", "parts", "warmup"}, p)
        role = c.get(m, "role", p, str)
        if role not in CONTEXT_ROLES:
            raise c.fail(f"{p}.role", f"unknown role {role!r}", f"use one of: {', '.join(CONTEXT_ROLES)}")
        out.append(
            ContextMessage(
                role=role,
                parts=c.text_parts(m, p, f"{name}:context:{i}"),
                warmup=c.get(m, "warmup", p, bool, required=False, default=False),
            )
        )
    return tuple(out)
