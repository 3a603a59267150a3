"""A recorded session written as a task file (agentload.workload.schema), with its content replaced by
synthetic text of the same size unless the user keeps it.

What is kept as it was: the tool definitions the client declared, the calls' names and the shape of
their JSON arguments, sizes, times, token counts and the request shape (a client profile). What is
replaced (by default): every text a person or a tool wrote: the prompt, context messages, the calls'
string values, the tools' outputs, the model's messages. Keys and headers are never read into it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from ..workload.synth import synth_text
from .session import RecordedSession, RecordedTurn

KIND_HINTS = (  # (pattern in a call's name or arguments, result kind), first match wins
    (re.compile(r"pytest|unittest|npm test|cargo test|go test|make test|\btest\b"), "test_log"),
    (re.compile(r"\bgit diff\b|apply_patch|\bdiff\b"), "diff"),
    (re.compile(r"\brg\b|\bgrep\b|search|\bfind\b.*-name"), "search"),
    (re.compile(r"\bls\b|\btree\b|\bfind\b|list_dir|glob"), "listing"),
    (re.compile(r"\.py\b"), "python"),
)


def result_kind(name: str, arguments: str) -> str:
    """What a call's output most likely looks like, for its synthetic stand-in."""
    text = f"{name} {arguments}".lower()
    return next((kind for pattern, kind in KIND_HINTS if pattern.search(text)), "text")


def _synth_value(value: Any, seed: str) -> Any:
    """A JSON value with every string replaced by synthetic text of the same byte length."""
    if isinstance(value, str):
        return synth_text("text", len(value.encode()), seed).replace("\n", " ") if value else value
    if isinstance(value, dict):
        return {k: _synth_value(v, f"{seed}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_synth_value(v, f"{seed}[{i}]") for i, v in enumerate(value)]
    return value


def _args(arguments: str, keep: bool, seed: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        value = {"input": arguments}  # not JSON: kept as one string field of its size
    if not isinstance(value, dict):
        value = {"input": value}
    return value if keep else _synth_value(value, seed)


def _text(text: str, keep: bool, seed: str) -> str:
    """The text, or synthetic text of its size whose JSON is its JSON's size too: as many newlines
    (each two bytes in JSON) as the text had escapes, spaces turned into newlines or back. (A 2.9 KB
    system prompt without a line break came back 4 % bigger on the wire as synthetic lines.)"""
    if keep:
        return text
    synth = synth_text("text", len(text.encode()), seed).replace("\n", " ")
    escapes = len(json.dumps(text, ensure_ascii=False)) - 2 - len(text)
    return synth.replace(" ", "\n", escapes)


def _sized_args(n: int, seed: str) -> dict[str, Any]:
    """Arguments whose compact JSON is ``n`` bytes (at least ``{}``): one synthetic string field."""
    pad = n - len('{"input":""}')
    return {"input": synth_text("text", pad, seed).replace("\n", " ")} if pad >= 0 else {}


def _sized_text(text: str, n: int | None, keep: bool, seed: str) -> str:
    """A text, or synthetic text of ``n`` bytes where the source gave only its size."""
    return synth_text("text", n, seed) if n is not None else _text(text, keep, seed)


def _turn_doc(turn: RecordedTurn, index: int, keep: bool, name: str) -> dict[str, Any]:
    calls = []
    latency_ms = round(turn.tool_time_s * 1000.0 / max(1, len(turn.calls)), 1)
    for ci, call in enumerate(turn.calls):
        seed = f"{name}:{index}:{ci}"
        doc: dict[str, Any] = {"tool": call.name}
        if call.custom:
            n = len(call.arguments.encode())
            doc["input"] = call.arguments if keep else {"synth": result_kind(call.name, ""), "bytes": n}
        elif call.args_bytes is not None and not (keep and call.arguments):
            doc["args"] = _sized_args(call.args_bytes, seed)
        else:
            doc["args"] = _args(call.arguments, keep, seed)
        if call.subagent is not None:  # (its result is the subagent's final answer)
            doc["subagents"] = [_subagent_doc(call.subagent, keep, f"{name}.t{index}c{ci}s0")]
            calls.append(doc)
            continue
        output = call.output if call.output is not None else ""
        ms = latency_ms if call.latency_s is None else round(call.latency_s * 1000.0, 1)
        if keep and call.output_bytes is None:
            doc["result"] = {"text": output, "latency_ms": ms}
        else:
            kind = result_kind(call.name, call.arguments)
            size = call.output_bytes if call.output_bytes is not None else len(output.encode())
            doc["result"] = {"kind": kind, "bytes": size, "latency_ms": ms}
        calls.append(doc)
    out: dict[str, Any] = {"calls": calls}
    if turn.message_bytes:
        out["message"] = {"bytes": turn.message_bytes}
    elif turn.message:
        out["message"] = {"text": turn.message} if keep else {"bytes": len(turn.message.encode())}
    if turn.reasoning_tokens is not None:
        out["reasoning_tokens"] = int(turn.reasoning_tokens)
    if turn.user_bytes is not None:
        out["user_message"] = {"bytes": turn.user_bytes}
        if turn.pause_s is not None:
            out["pause_s"] = round(turn.pause_s, 3)
    if turn.compacted:
        out["compacted"] = True
    if turn.subagents:
        out["subagents"] = turn.subagents
    if turn.measured:
        out["recorded"] = turn.measured
    return out


def _subagent_doc(child: RecordedSession, keep: bool, name: str) -> dict[str, Any]:
    """A call's recorded subagent as an inline ``fresh`` one (a Claude Code Task subagent starts its own
    conversation from the call's prompt): its turns, its final answer; its instructions, which the
    transcript does not hold, are its parent's."""
    turns = child.tool_turns
    doc: dict[str, Any] = {
        "kind": "fresh",
        "prompt": _text(child.prompt, keep, f"{name}:prompt"),
        "turns": [_turn_doc(t, i, keep, name) for i, t in enumerate(turns)],
        "final_message": _text(child.final_message, keep, f"{name}:final"),
        "max_turns": len(turns) + 1,
    }
    last = child.turns[-1] if child.turns and not child.turns[-1].calls else None
    if last is not None and last.reasoning_tokens is not None:
        doc["reasoning_tokens"] = int(last.reasoning_tokens)
    return doc


def task_document(session: RecordedSession, name: str, keep_content: bool = False) -> dict[str, Any]:
    """The task file's mapping for ``session``."""
    keep = keep_content
    doc: dict[str, Any] = {
        "schema": 1,
        "name": name,
        "description": session.description
        or f"recorded from {session.recorded.get('client') or session.source}"
        + (f" over {session.recorded['via']}" if session.recorded.get("via") else ""),
        "instructions": _sized_text(
            session.instructions, session.instructions_bytes, keep, f"{name}:instructions"
        ),
        "tools": session.tools,
    }
    if session.context:
        doc["context"] = [
            {"role": c.role, **({"parts": c.parts} if keep else {"parts": [len(p.encode()) for p in c.parts]}),
             **({"warmup": True} if c.warmup else {})}
            for c in session.context
        ]  # fmt: skip
    doc["prompt"] = _sized_text(session.prompt, session.prompt_bytes, keep, f"{name}:prompt")
    turns = session.tool_turns
    doc["turns"] = [_turn_doc(t, i, keep, name) for i, t in enumerate(turns)]
    last = session.turns[-1] if session.turns and not session.whole else None
    final = last if last is not None and not last.calls else None
    final_bytes = final.message_bytes if final is not None else None
    doc["final_message"] = _sized_text(session.final_message, final_bytes, keep, f"{name}:final")
    if final is not None and final.reasoning_tokens is not None:
        doc["reasoning_tokens"] = int(
            final.reasoning_tokens
        )  # the final turn's (each tool turn says its own)
    doc["max_turns"] = max(len(turns) + 1, 1)
    if session.profile is not None:
        doc["client_profile"] = session.profile.as_document()
    recorded = dict(session.recorded)
    recorded.setdefault("content", "kept" if keep else "synthetic, same sizes")
    if final is not None and (final.measured or final.user_bytes is not None or final.compacted):
        # (the final answer is not a turn: its own user message, pause and compaction are kept here)
        extra = {
            "user_message_bytes": final.user_bytes,
            "pause_s": final.pause_s,
            "compacted": final.compacted or None,
        }
        recorded["final_turn"] = {**final.measured, **{k: v for k, v in extra.items() if v is not None}}
    if session.notes:
        recorded["notes"] = sorted(set(session.notes))
    doc["recorded"] = recorded
    return doc


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, where PyYAML was built with it


def write_task(doc: dict[str, Any], path: Path) -> None:
    """Writes the task file whole or not at all (a stop mid-write leaves the previous version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    text = yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=4096)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
