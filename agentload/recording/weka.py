"""Weka agentic coding traces (kv-cache-tester's; AIPerf's ``weka_trace`` loader and SemiAnalysis's
cc-traces-weka datasets read the same format) as RecordedSessions: the conversation, and each subagent's.

The format is documented in github.com/callanjfox/kv-cache-tester, docs/trace_replay_tester.md ("Trace
Format"), and shipped there as traces/*.json (Apache-2.0): one JSON object per file, one Claude Code
conversation: ``id``, ``models``, ``block_size``, ``tool_tokens`` and ``system_tokens`` (the sizes of its
tool definitions and system prompt), ``requests``: each ``{t, type ("s"/"n"), model, in, out, hash_ids,
input_types, output_types, stop, api_time, think_time}`` (tokens in and out, the KV-cache blocks of its
input, what was new in its input and what it wrote, the server's time and the client's wait before it),
or a subagent's marker ``{type: "subagent", agent_id, subagent_type, tool_tokens, system_tokens,
requests: [...]}``, its own conversation, which the parent waits for.

A request is a turn. The trace counts tokens, not calls: a turn that called tools (``tool_use`` in what it
wrote or its stop reason, or tool results in the next request) makes one call of a tool named ``tool``,
its arguments the turn's output (``out`` tokens, at 4 bytes a token), its result what the next request's
input grew by beyond that output (beyond the input before it, where that output held thinking, which
is not resent), its latency the next request's ``think_time``; a turn that did not
writes its output as its message. A request whose new input is text alone follows the user's message:
``user_message`` is what the input grew by, ``pause_s`` the ``think_time`` before it. ``compacted``: the
input fell by 1,024 tokens or more. The cached part of each input is estimated from ``hash_ids`` (blocks
shared with the previous request, times ``block_size``). The tool definitions are one tool of
``tool_tokens`` tokens' size, the instructions ``system_tokens``' worth, the prompt the first request's
input less both. Subagents: the parent's turn before the marker counts it (``subagents``), and each
subagent's conversation becomes a session of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.tokens import BYTES_PER_TOKEN
from ..workload.synth import synth_text
from .logs import LogError, open_text
from .session import RecordedCall, RecordedSession, RecordedTurn

FIX = "give a Weka trace as kv-cache-tester writes it (docs/trace_replay_tester.md: Trace Format)"
COMPACTION_MIN_DROP = 1024  # tokens (as agentload.recording.tracelab)
TOOL = "tool"  # the trace names no tools
TOOL_OVERHEAD = 120  # bytes of a function tool's JSON besides its description


def is_weka(doc: Any) -> bool:
    """A Weka trace: one JSON object with ``requests`` and the token sizes of its prefix."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("requests"), list)
        and any(k in doc for k in ("block_size", "tool_tokens", "system_tokens"))
    )


def read_weka(path: Path) -> list[RecordedSession]:
    """The conversation in a Weka trace file, then each subagent's (depth first)."""
    try:
        with open_text(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise LogError(
            path, 0, f"cannot read it ({e.__class__.__name__})", "give a UTF-8 JSON file"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise LogError(path, e.lineno, f"not JSON ({e.msg})", FIX) from None
    if not is_weka(doc):
        raise LogError(path, 1, "not a Weka trace (a JSON object with `requests` and `block_size`)", FIX)
    out: list[RecordedSession] = []
    trace_id = str(doc.get("id") or path.stem)
    _conversation(path, doc, "", trace_id, "", out)
    return out


def _fail(path: Path, where: str, problem: str) -> LogError:
    return LogError(path, 0, f"{where}: {problem}", FIX)


def _tokens(path: Path, obj: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(
            path, f"{where}{key}", f"must be a token count (an integer, 0 or more), got {str(value)[:40]!r}"
        )
    return value


def _seconds(path: Path, obj: dict[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < float("inf"):
        raise _fail(path, f"{where}{key}", f"must be seconds (0 or more), got {str(value)[:40]!r}")
    return float(value)


def _strings(path: Path, obj: dict[str, Any], key: str, where: str) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise _fail(path, f"{where}{key}", "must be a list of strings")
    return value


def _shared_blocks(a: list[Any], b: list[Any]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _conversation(
    path: Path, doc: dict[str, Any], where: str, trace_id: str, agent: str, out: list[RecordedSession]
) -> RecordedSession:
    """One conversation (the trace's or a subagent's) and, after it in ``out``, its subagents'."""
    hint = f"sa-{agent}" if agent else ""
    s = RecordedSession(source="weka", whole=True, name_hint=hint)
    out.append(s)
    system = _tokens(path, doc, "system_tokens", where, 0)
    tool_tokens = _tokens(path, doc, "tool_tokens", where, 0)
    block = _tokens(path, doc, "block_size", where, 64) if "block_size" in doc else 64
    reqs = doc.get("requests")
    if not isinstance(reqs, list):
        raise _fail(path, f"{where}requests", "must be a list")
    rows: list[tuple[str, dict[str, Any]]] = []  # (where, request): the conversation's own requests
    spawned: list[tuple[int, str, dict[str, Any]]] = []  # (after which row, where, marker)
    for i, r in enumerate(reqs):
        w = f"{where}requests[{i}]"
        if not isinstance(r, dict):
            raise _fail(path, w, "must be an object")
        if r.get("type") == "subagent":
            spawned.append((len(rows) - 1, w, r))
        else:
            rows.append((w, r))
    if not rows:
        raise _fail(path, f"{where}requests", "no requests in it")
    ins = [_tokens(path, r, "in", f"{w}.") for w, r in rows]
    outs = [_tokens(path, r, "out", f"{w}.") for w, r in rows]
    input_types = [_strings(path, r, "input_types", f"{w}.") for w, r in rows]
    output_types = [_strings(path, r, "output_types", f"{w}.") for w, r in rows]
    thinks = [_seconds(path, r, "think_time", f"{w}.") for w, r in rows]
    results_next = [("tool_result" in t) for t in input_types[1:]] + [False]
    pauses: list[float] = []
    for i, (w, r) in enumerate(rows):
        turn = RecordedTurn()
        stop = r.get("stop") if isinstance(r.get("stop"), str) else ""
        if i == 0:
            s.prompt_bytes = max(0, ins[0] - system - tool_tokens) * BYTES_PER_TOKEN
        else:
            grew = ins[i] - ins[i - 1] - outs[i - 1]
            if grew < 0:  # the previous output was not all resent: its thinking, if it had any, is not
                grew = max(0, ins[i] - ins[i - 1]) if "thinking" in output_types[i - 1] else 0
            prev = s.turns[-1]
            if "tool_result" in input_types[i] and prev.calls:
                prev.calls[0].output_bytes = grew * BYTES_PER_TOKEN
                prev.calls[0].latency_s = thinks[i] or 0.0
            elif "tool_result" not in input_types[i]:
                turn.user_bytes = grew * BYTES_PER_TOKEN
                turn.pause_s = thinks[i]
                if thinks[i] is not None:
                    pauses.append(thinks[i] or 0.0)
            turn.compacted = ins[i - 1] - ins[i] >= COMPACTION_MIN_DROP
        if "tool_use" in output_types[i] or stop == "tool_use" or results_next[i]:
            turn.calls = [RecordedCall(TOOL, "", call_id=f"call_{i}", args_bytes=outs[i] * BYTES_PER_TOKEN, output_bytes=0, latency_s=0.0)]  # fmt: skip
        else:
            turn.message_bytes = outs[i] * BYTES_PER_TOKEN or None
        turn.measured = {"input_tokens": ins[i], "output_tokens": outs[i]}
        hashes = r.get("hash_ids")
        prev_hashes = rows[i - 1][1].get("hash_ids") if i else None
        if isinstance(hashes, list) and isinstance(prev_hashes, list):
            turn.measured["cached_tokens_estimated"] = min(
                ins[i], _shared_blocks(hashes, prev_hashes) * block
            )
        if i:
            turn.measured["context_growth_tokens"] = ins[i] - ins[i - 1]
        for key, name in (("api_time", "api_time_s"), ("think_time", "think_time_s"), ("ttft", "ttft_s")):
            value = _seconds(path, r, key, f"{w}.")
            if value is not None:
                turn.measured[name] = value
        if stop:
            turn.measured["stop"] = stop
        s.turns.append(turn)
    subagents: list[str] = []
    for after, w, marker in spawned:
        sub_agent = str(marker.get("agent_id") or f"{len(subagents) + 1}")
        if after >= 0:
            s.turns[after].subagents += 1
        else:
            s.notes.append(f"subagent {sub_agent} starts before the conversation's first request")
        child = _conversation(
            path, marker, f"{w}.", trace_id, f"{agent}-{sub_agent}" if agent else sub_agent, out
        )
        child.description = (
            f"subagent {sub_agent} ({marker.get('subagent_type') or 'untyped'}) of Weka trace {trace_id}, "
            f"{len(child.turns)} requests"
        )
        child.recorded["parent"] = f"{trace_id}{'/' + agent if agent else ''}"
        child.recorded["subagent_type"] = str(marker.get("subagent_type") or "")
        child.recorded["status"] = str(marker.get("status") or "")
        subagents.append(sub_agent)
    calls = sum(len(t.calls) for t in s.turns)
    if calls:
        # the trace's tool definitions, by size: one tool whose description makes up tool_tokens
        size = max(0, tool_tokens * BYTES_PER_TOKEN - TOOL_OVERHEAD)
        description = synth_text("text", size, f"{trace_id}:{agent}:tools").replace("\n", " ")
        s.tools = [{"type": "function", "name": TOOL, "description": description,
                    "parameters": {"type": "object", "properties": {}}}]  # fmt: skip
    s.instructions_bytes = system * BYTES_PER_TOKEN
    models = [str(r.get("model")) for _, r in rows if r.get("model")]
    if not agent:
        s.description = f"Weka trace {trace_id}: a Claude Code conversation of {len(rows)} requests"
    s.recorded = {
        "source": f"weka trace {path.name}" + (f" {where.rstrip('.')}" if where else ""),
        "client": "claude-code",
        "model": models[0] if models else "",
        "trace_id": trace_id,
        "rounds": len(rows),
        "tool_calls": calls,
        "subagents": subagents,
        "compactions": sum(t.compacted for t in s.turns),
        "user_messages": 1 + sum(t.user_bytes is not None for t in s.turns),
        "pause_s_total": round(sum(pauses), 3),
        "system_tokens": system,
        "tool_tokens": tool_tokens,
        "content": "synthetic: the trace holds token counts and times, no text",
    }
    if not subagents:
        del s.recorded["subagents"]
    s.notes.append(
        "a Weka trace counts tokens, not calls: a turn that called tools makes one call of `tool`, its "
        "arguments the turn's output tokens, its result what the next input grew by (4 bytes a token)"
    )
    s.notes.append(
        "a Weka trace does not split thinking from output: out tokens are written as arguments or message"
    )
    s.notes.append(
        "not replayed yet: the user's later messages (user_message) and the pauses before them (pause_s), "
        "compaction (compacted), subagents (subagents): a replay ends at the first turn without calls"
    )
    return s
