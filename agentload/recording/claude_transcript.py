"""Claude Code transcripts (``~/.claude/projects/<project>/<session>.jsonl``) as RecordedSessions.

Each line has ``type`` (``user``, ``assistant``, ``system``, ``summary``, ...), ``uuid``,
``parentUuid``, ``timestamp`` and, for the two that matter here, ``message``: a user's is a prompt (a
string, or text blocks) or the results of tool calls (``tool_result`` blocks by ``tool_use_id``); an
assistant's is Anthropic Messages content (``text``, ``thinking``, ``tool_use`` with ``id``, ``name``,
``input``) with ``usage``. Claude Code may write one assistant response as several lines sharing
``message.id``: they are one model turn.

Subagents: a ``Task`` (later ``Agent``) call runs a subagent, a conversation of its own that starts fresh
from the call's ``prompt``; its lines are a side chain (``isSidechain: true``) and its final answer is
the call's result. Claude Code 1.x wrote side chains into the session's own file (a chain's first line
has no ``parentUuid``; nothing names the call but the prompt); 2.x writes each to ``agent-<agentId>.jsonl``
(beside the session's file, then in ``<session>/subagents/``), its lines carrying ``agentId``, and the
call's result names it (``agentId: <id> (for resuming ...)``, and ``toolUseResult.agentId``). Each side
chain becomes its call's subagent (``RecordedCall.subagent``), linked by agentId, else by its prompt; a
chain no call names is left out and counted. An ``agent-*.jsonl`` given alone is its own session.

The request shape is Anthropic's, not the Responses API's: the task carries no client profile, so a
replay sends ``--client-profile`` or ``minimal``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.tokens import estimate_tokens
from ..workload.schema import MAX_SUBAGENT_DEPTH
from .logs import LogError, json_lines, timestamp
from .session import RecordedCall, RecordedSession, RecordedTurn, called_tools

TRANSCRIPT_TYPES = {"user", "assistant", "system", "summary", "file-history-snapshot", "progress"}
SUBAGENT_TOOLS = ("Task", "Agent")  # Claude Code's subagent tool, by its older and newer name
AGENT_ID = re.compile(r"agentId: ([A-Za-z0-9_@.-]+)")  # how a Task call's result names its subagent

Line = tuple[int, dict[str, Any]]


def is_transcript(first: dict[str, Any]) -> bool:
    return first.get("type") in TRANSCRIPT_TYPES and (
        "uuid" in first or "sessionId" in first or "leafUuid" in first
    )


@dataclass(frozen=True)
class _Chain:
    """One side chain: a subagent's lines as Claude Code wrote them (in the session's file, or in an
    ``agent-*.jsonl`` of its own), its agentId where it has one, and its first prompt (the Task call's)."""

    path: Path
    lines: tuple[Line, ...]
    agent_id: str
    prompt: str


@dataclass
class _Reading:
    """What linking side chains needs of a conversation besides its sessions: per call id, the agentId
    its result names, and how long after its turn's reply the result came (a turn that spawned a
    subagent waited for it: its other calls keep their own time, not the subagent's)."""

    agent_ids: dict[str, str] = field(default_factory=dict)
    result_after_s: dict[str, float] = field(default_factory=dict)


def read_transcript(path: Path) -> list[RecordedSession]:
    """A transcript's sessions (one per prompt), each Task call's side chain read in as its subagent."""
    lines = [(n, x) for n, x in json_lines(path) if x.get("type") in ("user", "assistant")]
    main = [x for x in lines if not x[1].get("isSidechain")]
    side = [x for x in lines if x[1].get("isSidechain")]
    alone = not main and bool(side)  # a subagent's own agent-*.jsonl, given without its session
    conv = side if alone else main
    out, reading = _conversation(path, conv)
    session_id = next((str(x["sessionId"]) for _, x in conv if x.get("sessionId")), "")
    notes: list[str] = []
    files: list[str] = []
    if alone:
        agent = next((str(x["agentId"]) for _, x in side if x.get("agentId")), "")
        notes.append(
            f"a subagent's transcript (agentId {agent or '?'}) replayed alone: imported with its session's "
            "file, it is that session's subagent"
        )
    else:
        chains = _inline_chains(path, side) + _agent_files(path, session_id)
        used: set[int] = set()
        _link(out, chains, reading, used, 1, notes)
        linked_lines = sum(len(chains[i].lines) for i in used)
        if used:
            notes.append(
                f"{len(used)} side chain(s) ({linked_lines} line(s)) imported as subagents of the Task calls "
                "that ran them"
            )
        files = sorted({str(chains[i].path.resolve()) for i in used if chains[i].path != path})
        left = [c for i, c in enumerate(chains) if i not in used]
        if left:
            notes.append(
                f"{sum(len(c.lines) for c in left)} side-chain line(s) of {len(left)} chain(s) that no Task "
                "call names (by agentId or prompt) left out"
            )
    model = next((str(x["message"].get("model")) for _, x in reversed(conv)
                  if isinstance(x.get("message"), dict) and x["message"].get("model")), "")  # fmt: skip
    first_at = next((str(x["timestamp"]) for _, x in conv if x.get("timestamp")), "")
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
        s.notes.extend(notes)
        s.read_also = files
    return out


def _first_prompt(lines: list[Line] | tuple[Line, ...]) -> str:
    """A conversation's first prompt: its first user line's text (not tool results)."""
    for _, line in lines:
        msg = line.get("message")
        if line.get("type") != "user" or not isinstance(msg, dict):
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list) and not any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def _inline_chains(path: Path, side: list[Line]) -> list[_Chain]:
    """The side chains in a session's own file (Claude Code 1.x): each starts at a line whose parent is
    not a side-chain line (no ``parentUuid``), and the rest follow their parents (parallel subagents'
    lines interleave); lines with an ``agentId`` go by it."""
    chains: list[list[Line]] = []
    by_uuid: dict[str, int] = {}
    by_agent: dict[str, int] = {}
    for n, line in side:
        agent = str(line.get("agentId") or "")
        parent = str(line.get("parentUuid") or "")
        if agent and agent in by_agent:
            i = by_agent[agent]
        elif parent in by_uuid:
            i = by_uuid[parent]
        else:
            i = len(chains)
            chains.append([])
            if agent:
                by_agent[agent] = i
        chains[i].append((n, line))
        if line.get("uuid"):
            by_uuid[str(line["uuid"])] = i
    return [_Chain(path, tuple(c), str(c[0][1].get("agentId") or ""), _first_prompt(c)) for c in chains]


def _agent_files(path: Path, session_id: str) -> list[_Chain]:
    """A session's subagents in files of their own (Claude Code 2.x): every ``agent-*.jsonl`` in
    ``<session>/subagents/`` beside the session's file, and those beside it whose lines name the
    session; ``agent-acompact-*`` (Claude Code's own compaction) is not a subagent."""
    nested = sorted((path.parent / path.name.split(".")[0] / "subagents").glob("agent-*.jsonl"))
    flat = sorted(path.parent.glob("agent-*.jsonl")) if session_id else []
    out = []
    for f in nested + flat:
        if f.name.startswith("agent-acompact") or f.resolve() == path.resolve():
            continue
        if f in flat:
            first = next((x for _, x in json_lines(f)), None)
            if first is None or first.get("sessionId") != session_id:
                continue
        lines = tuple((n, x) for n, x in json_lines(f) if x.get("type") in ("user", "assistant"))
        if lines:
            agent = str(lines[0][1].get("agentId") or f.name.removesuffix(".jsonl").removeprefix("agent-"))
            out.append(_Chain(f, lines, agent, _first_prompt(lines)))
    return out


def _chain_of(call: RecordedCall, chains: list[_Chain], reading: _Reading, used: set[int]) -> int | None:
    """The side chain a Task call ran: the one its result names by agentId, else the first unused one
    whose first prompt is the call's ``prompt``."""
    agent = reading.agent_ids.get(call.call_id, "")
    if agent:
        found = next((i for i, c in enumerate(chains) if c.agent_id == agent and i not in used), None)
        if found is not None:
            return found
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        return None
    prompt = args.get("prompt") if isinstance(args, dict) else None
    if not isinstance(prompt, str) or not prompt:
        return None
    return next((i for i, c in enumerate(chains) if c.prompt == prompt and i not in used), None)


def _link(sessions: list[RecordedSession], chains: list[_Chain], reading: _Reading, used: set[int],
          depth: int, notes: list[str]) -> None:  # fmt: skip
    """Makes each Task call's side chain its subagent (theirs too, to the task format's depth), its final
    answer the Task result's text where the chain ends without one."""
    for s in sessions:
        for turn in s.turns:
            spawned = False
            for call in turn.calls:
                if call.name not in SUBAGENT_TOOLS or depth > MAX_SUBAGENT_DEPTH:
                    continue
                i = _chain_of(call, chains, reading, used)
                if i is None:
                    continue
                used.add(i)
                kids, kid_reading = _conversation(chains[i].path, list(chains[i].lines))
                child = kids[0]
                if len(kids) > 1:  # (a resumed subagent: its later prompts are not replayed)
                    notes.append("a subagent resumed with a later prompt: its first conversation is replayed")
                _link([child], chains, kid_reading, used, depth + 1, notes)
                if not child.final_message:  # (it stopped with calls pending: the Task result is its answer)
                    answer = (call.output or "").split("agentId: ", 1)[0].rstrip()
                    child.turns.append(RecordedTurn(message=answer))
                call.subagent = child
                spawned = True
            if spawned:  # the turn's tool time is the subagents'; its other calls keep their own
                for call in turn.calls:
                    if call.subagent is None:
                        call.latency_s = max(0.0, reading.result_after_s.get(call.call_id, 0.0))


def _conversation(path: Path, lines: list[Line]) -> tuple[list[RecordedSession], _Reading]:
    """One conversation's lines (the session's, or a side chain's) as sessions, a session per prompt."""
    out: list[RecordedSession] = []
    reading = _Reading()
    cur: RecordedSession | None = None
    turn: RecordedTurn | None = None
    turn_msg_id: str | None = None
    turn_end: float | None = None
    pending: dict[str, tuple[RecordedTurn, int]] = {}
    for n, line in lines:
        kind = line.get("type")
        msg = line.get("message")
        if not isinstance(msg, dict):
            raise LogError(
                path,
                n,
                f"a {kind} line without a message object",
                "give the transcript as Claude Code wrote it",
            )
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
            cid = str(b.get("tool_use_id", ""))
            owner_i = pending.pop(cid, None)
            if owner_i is None:
                continue
            owner, i = owner_i
            owner.calls[i].output = _result_text(b.get("content"))
            extra = line.get("toolUseResult")
            named = AGENT_ID.search(owner.calls[i].output or "")
            agent = extra.get("agentId") if isinstance(extra, dict) else None
            if agent or named:
                reading.agent_ids[cid] = str(agent or (named.group(1) if named else ""))
            if t is not None and turn_end is not None:
                owner.tool_time_s = max(owner.tool_time_s, t - turn_end)
                reading.result_after_s[cid] = t - turn_end
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
    return out, reading


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else json.dumps(content)
