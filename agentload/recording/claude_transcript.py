"""Claude Code transcripts (``~/.claude/projects/<project>/<session>.jsonl``) as RecordedSessions.

Each line has ``type`` (``user``, ``assistant``, ``system``, ``summary``, ...), ``uuid``,
``parentUuid``, ``timestamp`` and, for the two that matter here, ``message``: a user's is a prompt (a
string, or text blocks) or the results of tool calls (``tool_result`` blocks by ``tool_use_id``); an
assistant's is Anthropic Messages content (``text``, ``thinking``, ``tool_use`` with ``id``, ``name``,
``input``) with ``usage``. Claude Code may write one assistant response as several lines sharing
``message.id``: they are one model turn. Lines on a side chain (a subagent's) are left out and counted.
The request shape is Anthropic's, not the Responses API's: the task carries no client profile, so a
replay sends ``--client-profile`` or ``minimal``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.tokens import estimate_tokens
from .logs import LogError, json_lines, timestamp
from .session import RecordedCall, RecordedSession, RecordedTurn, called_tools

TRANSCRIPT_TYPES = {"user", "assistant", "system", "summary", "file-history-snapshot", "progress"}


def is_transcript(first: dict[str, Any]) -> bool:
    return first.get("type") in TRANSCRIPT_TYPES and (
        "uuid" in first or "sessionId" in first or "leafUuid" in first
    )


def read_transcript(path: Path) -> list[RecordedSession]:
    out: list[RecordedSession] = []
    cur: RecordedSession | None = None
    turn: RecordedTurn | None = None
    turn_msg_id: str | None = None
    turn_end: float | None = None
    pending: dict[str, tuple[RecordedTurn, int]] = {}
    side = 0
    model = ""
    session_id = ""
    first_at = ""
    for n, line in json_lines(path):
        kind = line.get("type")
        if kind not in ("user", "assistant"):
            continue
        if line.get("isSidechain"):
            side += 1
            continue
        msg = line.get("message")
        if not isinstance(msg, dict):
            raise LogError(
                path,
                n,
                f"a {kind} line without a message object",
                "give the transcript as Claude Code wrote it",
            )
        session_id = session_id or str(line.get("sessionId", ""))
        first_at = first_at or str(line.get("timestamp", ""))
        t = timestamp(line.get("timestamp"))
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise LogError(
                path,
                n,
                "message.content is neither a string nor a list",
                "give the transcript as Claude Code wrote it",
            )
        if kind == "assistant":
            model = str(msg.get("model") or model)
            mid = str(msg.get("id") or f"line{n}")
            if cur is None:
                raise LogError(
                    path,
                    n,
                    "an assistant message before any prompt",
                    "give the whole transcript, from its first line",
                )
            if turn is None or mid != turn_msg_id:
                turn = RecordedTurn()
                turn_msg_id = mid
                cur.turns.append(turn)
                turn.measured = {}
            thinking = 0
            for b in blocks:
                if not isinstance(b, dict):
                    continue
                if b.get("type") == "text":
                    turn.message += str(b.get("text", ""))
                elif b.get("type") == "thinking":
                    thinking += len(str(b.get("thinking", "")).encode())
                elif b.get("type") == "tool_use":
                    call = RecordedCall(
                        str(b.get("name", "")),
                        json.dumps(b.get("input") or {}, separators=(",", ":")),
                        call_id=str(b.get("id", "")),
                    )
                    pending[call.call_id] = (turn, len(turn.calls))
                    turn.calls.append(call)
            if thinking:
                turn.reasoning_tokens = (turn.reasoning_tokens or 0) + estimate_tokens(thinking)
            usage = msg.get("usage") if isinstance(msg.get("usage"), dict) else None
            if usage:
                turn.measured = {
                    "input_tokens": usage.get("input_tokens", 0)
                    + usage.get("cache_read_input_tokens", 0)
                    + usage.get("cache_creation_input_tokens", 0),
                    "cached_tokens": usage.get("cache_read_input_tokens", 0),
                    "output_tokens": usage.get("output_tokens", 0),
                }
            turn_end = t if t is not None else turn_end
            continue
        turn = None  # a user line ends the model's turn
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        for b in results:
            owner_i = pending.pop(str(b.get("tool_use_id", "")), None)
            if owner_i is None:
                continue
            owner, i = owner_i
            owner.calls[i].output = _result_text(b.get("content"))
            if t is not None and turn_end is not None:
                owner.tool_time_s = max(owner.tool_time_s, t - turn_end)
        texts = [str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
        if texts and not results:
            if cur is not None and not (cur.turns and not cur.turns[-1].calls):
                cur.notes.append("a user message mid-task (not replayed)")
                continue
            follow = cur is not None
            cur = RecordedSession(source="claude-code", prompt="".join(texts))
            if follow:
                cur.notes.append("a follow-up prompt: the earlier prompts' history is not replayed")
            out.append(cur)
    if not out:
        raise LogError(
            path, 0, "no prompt in it", "give a Claude Code transcript with at least one user prompt"
        )
    for s in out:
        s.tools = called_tools(s)
        s.recorded = {"source": f"claude code transcript {path.name}", "client": "claude-code", "model": model,
                      "session_id": session_id, "recorded_at": first_at}  # fmt: skip
        s.notes.append(
            "a transcript holds no wire bytes or times to first token: turns carry tokens and tool time"
        )
        s.notes.append(
            "Claude Code's request shape is Anthropic's: no client profile; replays send --client-profile or minimal"
        )
        if side:
            s.notes.append(f"{side} side-chain (subagent) line(s) left out")
    return out


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else json.dumps(content)
