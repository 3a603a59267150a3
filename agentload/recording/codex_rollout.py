"""Codex CLI session rollouts (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``) as RecordedSessions.

Each line is ``{timestamp, type, payload}`` (codex-rs protocol's RolloutLine): ``session_meta`` (the
session's id, cli_version, base_instructions), ``response_item`` (the Responses API items Codex sent
and got: messages, reasoning, function and custom tool calls and their outputs), ``token_usage_record``
and ``event_msg`` ``token_count`` (each response's usage), ``turn_context`` (the model), ``compacted``.
A run of model items is one model turn; the tool time is from the turn's last item to its last
output. A rollout holds no wire bytes and no tool definitions: the tools are the called ones (or
``--tools-from`` a recorded task's), and the request shape is the built-in ``codex`` profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..workload.profile import load_profile
from .logs import LogError, json_lines, timestamp
from .session import (
    ContextItem,
    RecordedSession,
    RecordedTurn,
    call_of,
    called_tools,
    message_text,
    output_text,
)

MODEL_ITEMS = {"reasoning", "function_call", "custom_tool_call", "local_shell_call", "web_search_call"}


def is_rollout(first: dict[str, Any]) -> bool:
    return first.get("type") == "session_meta" and isinstance(first.get("payload"), dict)


def read_rollout(path: Path) -> list[RecordedSession]:
    meta: dict[str, Any] = {}
    model = ""
    items: list[tuple[int, float | None, dict[str, Any]]] = []
    usage: list[dict[str, Any]] = []  # per response, in order
    compacted = 0
    for n, line in json_lines(path):
        kind, payload = line.get("type"), line.get("payload")
        if not isinstance(payload, dict):
            raise LogError(
                path, n, "a rollout line without a payload object", "give the rollout file as Codex wrote it"
            )
        if kind == "session_meta" and not meta:
            meta = payload
        elif kind == "turn_context":
            model = str(payload.get("model") or model)
        elif kind == "response_item":
            if not isinstance(payload.get("type"), str):
                raise LogError(
                    path, n, "a response_item without a type", "give the rollout file as Codex wrote it"
                )
            items.append((n, timestamp(line.get("timestamp")), payload))
        elif kind == "token_usage_record" and isinstance(payload.get("usage"), dict):
            usage.append(payload["usage"])
        elif kind == "compacted":
            compacted += 1
    if not meta:
        raise LogError(
            path,
            1,
            "no session_meta line",
            "give a Codex rollout (rollout-*.jsonl under CODEX_HOME/sessions)",
        )
    sessions = _sessions(items, usage)
    base = meta.get("base_instructions")
    base_text = base.get("text") if isinstance(base, dict) else base if isinstance(base, str) else None
    for s in sessions:
        if base_text:
            s.context.insert(0, ContextItem("developer", [base_text], warmup=True))
        s.profile = load_profile("codex")
        s.tools = called_tools(s)
        s.notes.append(
            "a rollout does not list the tools Codex declared: the called ones have empty schemas (--tools-from a recorded task gives the real ones)"
        )
        s.recorded = {
            "source": f"codex rollout {path.name}",
            "client": f"{meta.get('originator', 'codex')}/{meta.get('cli_version', '?')}",
            "model": model,
            "session_id": meta.get("id", ""),
            "recorded_at": meta.get("timestamp", ""),
        }
        s.notes.append(
            "a rollout holds no wire bytes or times to first token: turns carry tokens and tool time"
        )
        if compacted:
            s.notes.append(f"{compacted} compaction(s) in the rollout are not replayed")
    return sessions


def _sessions(
    items: list[tuple[int, float | None, dict[str, Any]]], usage: list[dict[str, Any]]
) -> list[RecordedSession]:
    out: list[RecordedSession] = []
    cur: RecordedSession | None = None
    turn: RecordedTurn | None = None  # the model turn being read
    pending: dict[str, tuple[RecordedTurn, int]] = {}
    turn_end: float | None = None
    responses = 0
    context: list[ContextItem] = []
    for _n, t, item in items:
        kind = item.get("type")
        is_model = kind in MODEL_ITEMS or (kind == "message" and item.get("role") == "assistant")
        if is_model:
            if turn is None:
                if cur is None:  # model output before any prompt: the context so far is all there is
                    cur = _begin(context)
                    context = []
                    out.append(cur)
                turn = RecordedTurn()
                turn.measured = _usage(usage[responses]) if responses < len(usage) else {}
                turn.reasoning_tokens = turn.measured.get("reasoning_tokens")
                responses += 1
                cur.turns.append(turn)
            call = call_of(item)
            if call is not None:
                pending[call.call_id] = (turn, len(turn.calls))
                turn.calls.append(call)
            elif kind == "message":
                turn.message += "".join(message_text(item.get("content")))
            turn_end = t if t is not None else turn_end
            continue
        if turn is not None:
            turn = None
        if kind in ("function_call_output", "custom_tool_call_output") and item.get("call_id") in pending:
            owner, i = pending.pop(item["call_id"])
            owner.calls[i].output = output_text(item.get("output"))
            if t is not None and turn_end is not None:
                owner.tool_time_s = max(owner.tool_time_s, t - turn_end)
        elif kind == "message":
            if cur is not None and cur.turns and not cur.turns[-1].calls:
                cur = None  # a follow-up prompt after an answer: the next task
            if cur is None:
                context.append(ContextItem(str(item.get("role", "user")), message_text(item.get("content"))))
            else:
                cur.notes.append("a message mid-task (not replayed)")
    if cur is None and context:
        out.append(_begin(context))
    return out


def _begin(context: list[ContextItem]) -> RecordedSession:
    s = RecordedSession(source="codex-rollout")
    users = [i for i, c in enumerate(context) if c.role == "user"]
    if users:
        s.prompt = "".join(context.pop(users[-1]).parts)
    s.context = context
    return s


def _usage(u: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_tokens": u.get("input_tokens", 0),
        "cached_tokens": u.get("cached_input_tokens", 0),
        "output_tokens": u.get("output_tokens", 0),
        "reasoning_tokens": u.get("reasoning_output_tokens", 0),
    }
