"""TraceLab's normalized round JSONL as RecordedSessions: one per ``session_id``, a round a turn.

TraceLab (github.com/uw-syfi/TraceLab: Claude Code and Codex sessions; code Apache-2.0, data CC BY 4.0)
documents the row in its README ("Data format") and example_sessions/derived/README.md. A row is one LLM
invocation: ``provider`` (claude, codex), ``session_id``, ``round_index``, ``model``, the input tokens
(``input_tokens_total = prefix_tokens + newly_append_tokens``: the cached prefix and what was appended),
``output_tokens``, ``reasoning_output_tokens`` (Codex's; null for Claude, whose output counts its
thinking), ``timing_events`` (ordered; ``user_message`` and ``tool_result`` feed the round, ``reasoning``,
``text`` and ``tool_call`` are its output; ISO timestamps, ``content_chars``) and ``tools`` (``tool_name``,
``input_chars``, ``result_chars``, ``tool_wall_latency_ms``, ``tool_internal_latency_ms``; a private
trace also ``input``). There is no text in a public trace: every text becomes synthetic text of its
recorded size (characters taken as bytes).

A round is a turn: its calls (name, argument and result sizes, the tool's latency: the internal one when
the trace has it, else the wall one, as TraceLab's analyses take it), the text it wrote (``message``),
reasoning tokens (Codex's; for Claude, a round with a reasoning event reasons its output tokens less its
text and arguments), the user's message that fed it after the first and the human's pause before that
(TraceLab's human input wait: the session's previous model-output event to the user message),
``compacted`` when its input fell by 1,024 tokens or more from the round before (TraceLab's growth
buckets call a smaller drop a micro-reduction), and ``subagents``: its calls of a subagent tool (Claude
Code's Task/Agent, Codex's spawn_agent). TraceLab files a subagent's rounds as a session of its own with
no link to its parent, so that session becomes a task file of its own. What each round measured goes
under ``recorded``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.tokens import estimate_tokens
from ..workload.profile import load_profile
from ..workload.schema import MAX_REASONING_TOKENS
from .logs import LogError, json_lines, timestamp
from .session import RecordedCall, RecordedSession, RecordedTurn, called_tools

KEYS = ("session_id", "round_index", "input_tokens_total")
FIX = "give TraceLab's normalized round JSONL as its extractors write it (its README: Data format)"
SUBAGENT_TOOLS = frozenset({"Task", "Agent", "spawn_agent"})  # tools that start a subagent
COMPACTION_MIN_DROP = 1024  # tokens; a smaller drop is what TraceLab calls a micro-reduction
INPUT_EVENTS = frozenset({"user_message", "tool_result"})
OUTPUT_EVENTS = frozenset({"reasoning", "text", "tool_call"})
CLIENTS = {"claude": "claude-code", "codex": "codex"}


def is_tracelab(first: dict[str, Any]) -> bool:
    """A TraceLab round row: a session id, a round index and the input tokens, with its events or tools."""
    return all(k in first for k in KEYS) and ("timing_events" in first or "tools" in first)


@dataclass
class _Tool:
    name: str
    input_chars: int
    result_chars: int | None
    latency_ms: float | None  # internal when measured, else wall
    wall_ms: float | None
    input: Any = None  # a private trace's arguments


@dataclass
class _Round:
    line: int
    index: int
    provider: str
    model: str
    total: int
    prefix: int
    append: int
    output: int
    reasoning: int | None
    cache_write: int | None
    user_chars: int = 0
    users: int = 0
    user_at: float | None = None  # the first user message's time
    user_at_text: str = ""
    text_chars: int = 0
    reasoned: bool = False  # a reasoning event
    last_input_at: float | None = None
    last_output_at: float | None = None
    tools: list[_Tool] = field(default_factory=list)


def _count(path: Path, n: int, row: dict[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = row.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LogError(
            path, n, f"`{key}` must be a count (an integer, 0 or more), got {str(value)[:40]!r}", FIX
        )
    return value


def _ms(path: Path, n: int, obj: dict[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < float("inf"):
        raise LogError(
            path, n, f"`{where}{key}` must be milliseconds (0 or more), got {str(value)[:40]!r}", FIX
        )
    return float(value)


def _list(path: Path, n: int, row: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = row.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise LogError(path, n, f"`{key}` must be a list of objects", FIX)
    return value


def _round(path: Path, n: int, row: dict[str, Any]) -> _Round:
    if not all(k in row for k in KEYS):
        missing = next(k for k in KEYS if k not in row)
        raise LogError(path, n, f"not a TraceLab round (no `{missing}`)", FIX)
    index = _count(path, n, row, "round_index")
    total = _count(path, n, row, "input_tokens_total")
    assert index is not None and total is not None
    prefix = _count(path, n, row, "prefix_tokens", optional=True)
    append = _count(path, n, row, "newly_append_tokens", optional=True)
    r = _Round(
        line=n,
        index=index,
        provider=str(row.get("provider") or ""),
        model=str(row.get("model") or ""),
        total=total,
        prefix=prefix if prefix is not None else 0,
        append=append if append is not None else total - (prefix or 0),
        output=_count(path, n, row, "output_tokens", optional=True) or 0,
        reasoning=_count(path, n, row, "reasoning_output_tokens", optional=True),
        cache_write=_count(path, n, row, "claude_cache_creation_input_tokens", optional=True),
    )
    for i, e in enumerate(_list(path, n, row, "timing_events")):
        kind = e.get("event_type")
        if not isinstance(kind, str):
            raise LogError(path, n, f"`timing_events[{i}]` has no `event_type`", FIX)
        at = timestamp(e.get("timestamp"))
        chars = e.get("content_chars")
        chars = chars if isinstance(chars, int) and not isinstance(chars, bool) and chars > 0 else 0
        if kind == "user_message":
            r.users += 1
            r.user_chars += chars
            if r.user_at is None:
                r.user_at, r.user_at_text = at, str(e.get("timestamp") or "")
        elif kind == "text":
            r.text_chars += chars
        elif kind == "reasoning":
            r.reasoned = True
        if at is not None and kind in INPUT_EVENTS:
            r.last_input_at = max(at, r.last_input_at or at)
        if at is not None and kind in OUTPUT_EVENTS:
            r.last_output_at = max(at, r.last_output_at or at)
    for i, t in enumerate(_list(path, n, row, "tools")):
        name = t.get("tool_name")
        if not isinstance(name, str) or not name:
            raise LogError(path, n, f"`tools[{i}]` has no `tool_name`", FIX)
        where = f"tools[{i}]."
        internal = _ms(path, n, t, "tool_internal_latency_ms", where)
        wall = _ms(path, n, t, "tool_wall_latency_ms", where)
        r.tools.append(
            _Tool(
                name=name,
                input_chars=_count(path, n, t, "input_chars", optional=True) or 0,
                result_chars=_count(path, n, t, "result_chars", optional=True),
                latency_ms=internal if internal is not None else wall,
                wall_ms=wall,
                input=t.get("input"),
            )
        )
    return r


def read_tracelab(path: Path) -> list[RecordedSession]:
    """Every session in a TraceLab round file (plain or gzipped), in the order they first appear."""
    by_session: dict[str, list[_Round]] = {}
    for n, row in json_lines(path):
        r = _round(path, n, row)
        sid = row["session_id"]
        if not isinstance(sid, str) or not sid:
            raise LogError(path, n, "`session_id` must be a non-empty string", FIX)
        by_session.setdefault(sid, []).append(r)
    return [
        _session(path, sid, sorted(rounds, key=lambda r: (r.index, r.line)))
        for sid, rounds in by_session.items()
    ]


def _call(tool: _Tool, index: int) -> RecordedCall:
    arguments = ""
    if isinstance(tool.input, str):
        arguments = tool.input
    elif tool.input is not None:
        arguments = json.dumps(tool.input, separators=(",", ":"), ensure_ascii=False)
    return RecordedCall(
        tool.name,
        arguments,
        call_id=f"call_{index}",
        args_bytes=tool.input_chars,
        output_bytes=tool.result_chars or 0,
        latency_s=(tool.latency_ms or 0.0) / 1000.0,
    )


def _reasoning(r: _Round) -> tuple[int | None, bool]:
    """A round's reasoning tokens, and whether they are estimated (Claude: thinking inside output)."""
    if r.reasoning is not None:
        return min(r.reasoning, MAX_REASONING_TOKENS), False
    if not r.reasoned:
        return None, False
    written = estimate_tokens(r.text_chars + sum(t.input_chars for t in r.tools))
    return min(max(0, r.output - written), MAX_REASONING_TOKENS), True


def _measured(r: _Round, prev: _Round | None, reasoning: int | None) -> dict[str, Any]:
    m: dict[str, Any] = {
        "input_tokens": r.total,
        "cached_tokens": r.prefix,
        "append_tokens": r.append,
        "output_tokens": r.output,
    }
    if r.reasoning is not None:
        m["reasoning_tokens"] = r.reasoning
    elif reasoning is not None:
        m["reasoning_tokens_estimated"] = reasoning
    if r.cache_write is not None:
        m["cache_write_tokens"] = r.cache_write
    if prev is not None:
        m["context_growth_tokens"] = r.total - prev.total
    if r.last_input_at is not None and r.last_output_at is not None and r.last_output_at >= r.last_input_at:
        m["generation_ms"] = round((r.last_output_at - r.last_input_at) * 1000.0, 1)
    walls = [t.wall_ms for t in r.tools]
    if r.tools and all(w is not None for w in walls):
        m["tool_wall_latency_ms"] = walls
    return m


def _name_hint(provider: str, sid: str) -> str:
    """A short, file-name-safe id: the provider, the id's first characters, a subagent's own part."""
    body = sid.split(":", 1)[1] if ":" in sid else sid
    head, _, sub = body.partition("/subagents/")
    first = re.match(r"[A-Za-z0-9]*", head)
    hint = f"{provider or 'session'}-{(first.group() if first else '')[:12] or 'x'}" + (
        f"-sa-{sub[-16:]}" if sub else ""
    )
    return re.sub(r"[^A-Za-z0-9_-]+", "-", hint).strip("-")


def _session(path: Path, sid: str, rounds: list[_Round]) -> RecordedSession:
    provider = rounds[0].provider
    client = CLIENTS.get(provider, provider or "unknown")
    s = RecordedSession(source="tracelab", whole=True, name_hint=_name_hint(provider, sid))
    s.description = f"a {client} session from TraceLab ({len(rounds)} rounds), sizes and times as traced"
    prev: _Round | None = None
    out_at: float | None = None  # the session's last model-output event so far
    estimated = missing_results = 0
    pauses: list[float] = []
    for r in rounds:
        turn = RecordedTurn()
        if prev is None:
            s.prompt_bytes = r.user_chars
            if not r.users:
                s.notes.append(
                    "the first round has no user message (a resumed session's, or a subagent's): the prompt is empty"
                )
        elif r.users:
            turn.user_bytes = r.user_chars
            if r.user_at is not None and out_at is not None and r.user_at >= out_at:
                turn.pause_s = r.user_at - out_at
                pauses.append(turn.pause_s)
        turn.calls = [_call(t, i) for i, t in enumerate(r.tools)]
        missing_results += sum(t.result_chars is None for t in r.tools)
        turn.message_bytes = r.text_chars or None
        turn.reasoning_tokens, guessed = _reasoning(r)
        estimated += guessed
        turn.compacted = prev is not None and prev.total - r.total >= COMPACTION_MIN_DROP
        turn.subagents = sum(t.name in SUBAGENT_TOOLS for t in r.tools)
        turn.measured = _measured(r, prev, turn.reasoning_tokens)
        s.turns.append(turn)
        prev = r
        out_at = r.last_output_at if r.last_output_at is not None else out_at
    s.tools = called_tools(s)
    if provider == "codex":
        s.profile = load_profile("codex")
    first_at = next((r.user_at_text for r in rounds if r.user_at_text), "")
    calls = sum(len(t.calls) for t in s.turns)
    s.recorded = {
        "source": f"tracelab {path.name}",
        "client": client,
        "model": next((r.model for r in rounds if r.model), ""),
        "session_id": sid,
        "recorded_at": first_at,
        "rounds": len(rounds),
        "tool_calls": calls,
        "subagent_calls": sum(t.subagents for t in s.turns),
        "compactions": sum(t.compacted for t in s.turns),
        "user_messages": sum(t.user_bytes is not None for t in s.turns) + (1 if rounds[0].users else 0),
        "pause_s_total": round(sum(pauses), 3),
        "content": "synthetic: the trace holds sizes, tokens and times, no text",
    }
    s.notes.append(
        "a TraceLab trace holds sizes, tokens and times, no text: every text is synthetic of its recorded size"
    )
    s.notes.append(
        "TraceLab lists no tool definitions or system prompt: the called tools have empty schemas, the instructions are empty"
    )
    s.notes.append(
        "not replayed yet: the user's later messages (user_message) and the pauses before them (pause_s), "
        "compaction (compacted), subagents (subagents): a replay ends at the first turn without calls"
    )
    if estimated:
        s.notes.append(
            f"{estimated} turn(s) reason an estimate: Claude's output_tokens count its thinking, less the text "
            "and arguments it wrote (4 bytes a token)"
        )
    if missing_results:
        s.notes.append(f"{missing_results} call(s) have no result in the trace (a result of 0 bytes)")
    if any(t.subagents for t in s.turns):
        s.notes.append(
            "TraceLab files a subagent's rounds as a session of its own, unlinked: its task is a file of its own"
        )
    indexes = [r.index for r in rounds]
    if len(set(indexes)) != len(indexes):
        s.notes.append("round_index repeats in this session: its rounds are in file order where it does")
    return s
