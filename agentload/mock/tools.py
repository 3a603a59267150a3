"""Tool calls made from the tools a client declares, for conversations that name no agentload task.

A real agent (Codex CLI, an SDK loop) brings its own tools; the scripted model calls them, so the
agent's tools really run and take their real time. Calls are drawn deterministically (by the
conversation's seed and turn) from the declared function and custom tools, with arguments valid
against each tool's JSON schema (strict mode too: every property given, nothing else). For the tools
agents carry, the arguments are harmless and realistic: read-only shell commands, an empty patch, a
file that exists in any repository. Tools that need a person or state the model does not have
(asking the user, writing to a session, viewing an image) are not called.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

READ_ONLY_COMMANDS = ("ls -la", "pwd", "git status --short", "ls", "cat README.md", "git log --oneline -n 5")
EMPTY_PATCH = "*** Begin Patch\n*** End Patch\n"
SKIP = frozenset(
    {
        "request_user_input", "write_stdin", "view_image", "get_goal", "create_goal", "update_goal",
        "update_plan", "spawn_agent", "send_input", "wait", "close_agent",
    }
)  # fmt: skip
_COMMAND_KEYS = ("cmd", "command")
_PATH_KEYS = ("path", "file", "file_path", "filename")


@dataclass(frozen=True)
class ToolCallPlan:
    name: str
    arguments: str  # JSON arguments of a function call, or the raw input of a custom tool call
    custom: bool = False


def callable_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The declared tools the model may call: function and custom tools, the ones it can use alone."""
    out = []
    for t in tools:
        if (
            t.get("type") in ("function", "custom")
            and isinstance(t.get("name"), str)
            and t["name"] not in SKIP
        ):
            out.append(t)
    return out


def _rank(tool: dict[str, Any]) -> int:
    """Shell and file-reading tools first (what a coding agent mostly calls), patches next."""
    name = tool["name"].lower()
    if any(k in name for k in ("exec", "shell", "command", "bash")):
        return 0
    if any(k in name for k in ("read", "list", "search", "grep", "glob", "view_file", "cat")):
        return 1
    if "patch" in name or "edit" in name:
        return 2
    return 3


def _number(schema: dict[str, Any], key: str, default: float) -> float:
    v = schema.get(key, default)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else default


def _resolve(schema: Any, root: dict[str, Any] | None) -> Any:
    """``{"$ref": "#/$defs/Name"}`` as the schema it points at within ``root`` (pydantic's nested models)."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/") or root is None:
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else {}


def value_for(
    schema: Any,
    key: str,
    rng: random.Random,
    strict: bool,
    depth: int = 0,
    root: dict[str, Any] | None = None,
) -> Any:
    """A value valid against ``schema`` (the common JSON-schema subset tools use, ``$ref`` into ``root``
    included). A schema of another shape gets a plain value, never an error: the client's tools are its
    own business."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > 8:
        return ""
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in schema:
        return schema["const"]
    for union in ("anyOf", "oneOf"):
        options = schema.get(union)
        if isinstance(options, list) and options:
            return value_for(options[0], key, rng, strict, depth + 1, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or isinstance(schema.get("properties"), dict):
        return object_for(schema, rng, strict, depth + 1, root)
    if kind == "array":
        if key == "command":  # an argv, as Codex's older shell tool takes it
            return ["bash", "-lc", rng.choice(READ_ONLY_COMMANDS)]
        n = min(8, max(0, int(_number(schema, "minItems", 1 if key == "args" else 0))))
        return [value_for(schema.get("items", {}), key, rng, strict, depth + 1, root) for _ in range(n)]
    if kind == "integer":
        low = _number(schema, "minimum", 1)
        return int(low) if low > 0 else 1
    if kind == "number":
        return float(_number(schema, "minimum", 1) or 1)
    if kind == "boolean":
        return False
    if key in _COMMAND_KEYS:
        return rng.choice(READ_ONLY_COMMANDS)
    if key in _PATH_KEYS:
        return "README.md"
    if key in ("pattern", "query"):
        return "TODO"
    return f"agentload {key}"


def object_for(
    schema: dict[str, Any],
    rng: random.Random,
    strict: bool,
    depth: int = 0,
    root: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The required properties (in strict mode every property is), or else the command or path one."""
    schema = _resolve(schema, root)
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    required = schema.get("required")
    required = [k for k in required if isinstance(k, str)] if isinstance(required, list) else []
    keys = list(props) if strict else required or [k for k in props if k in _COMMAND_KEYS + _PATH_KEYS]
    return {str(k): value_for(props.get(k, {}), str(k), rng, strict, depth, root) for k in keys}


def plan_calls(tools: list[dict[str, Any]], n: int, seed: str, turn: int) -> list[ToolCallPlan]:
    """``n`` calls for model turn ``turn``: the best-ranked tools, varied by seed and turn."""
    usable = sorted(callable_tools(tools), key=_rank)
    if not usable:
        return []
    rng = random.Random(f"{seed}:{turn}")
    best = [t for t in usable if _rank(t) == _rank(usable[0])]
    calls = []
    for i in range(n):
        tool = best[(turn + i) % len(best)] if i == 0 else rng.choice(usable[: max(1, len(best) + 1)])
        if tool.get("type") == "custom":
            text = EMPTY_PATCH if "patch" in tool["name"].lower() else rng.choice(READ_ONLY_COMMANDS)
            calls.append(ToolCallPlan(tool["name"], text, custom=True))
        else:
            params = tool.get("parameters")
            params = params if isinstance(params, dict) else {"type": "object", "properties": {}}
            args = object_for(params, rng, tool.get("strict") is True)
            calls.append(ToolCallPlan(tool["name"], json.dumps(args, separators=(",", ":"))))
    return calls


def structured_answer(fmt: dict[str, Any] | None, message: str, rng: random.Random) -> str:
    """The model's final answer in the structured output a request asked for (Responses ``text.format``,
    chat ``response_format``): JSON valid against a json_schema format's schema (strict mode: every
    property), a JSON object for json_object, the message itself for text."""
    kind = (fmt or {}).get("type")
    if fmt is not None and kind == "json_schema":
        schema = fmt["schema"]
        return json.dumps(value_for(schema, "answer", rng, fmt.get("strict") is True, 0, schema))
    if kind == "json_object":
        return json.dumps({"answer": message})
    return message
