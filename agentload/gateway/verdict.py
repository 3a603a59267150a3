"""The verdict per strategy: what the agents measured through the gateway beside what reached the mock.

The agents' records say what each turn sent to the gateway (its payload bytes), its time to first token
and whether it failed; the mock's continuity report (``GET /_agentload/continuity``) says what the
gateway sent on: each turn's context against what the conversation should hold, the bodies' bytes, the
mock's own time to first token. A strategy fails when a turn lost its context, or when its turns
reached the mock without agentload's marker at all (the gateway dropped or rewrote the system prompt).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core.records import ErrorKind
from ..core.strategies import order
from ..metrics.format import Fmt, text


@dataclass(frozen=True)
class Row:
    strategy: str
    tasks: int  # tasks the agents completed
    turns_ok: int  # turns the agents completed
    turns_failed: int  # turns that failed at the agents (the run's end interrupting one not counted)
    upstream_turns: int  # turns the mock answered
    upstream_errors: int  # requests for a turn the mock refused (its error reached the gateway)
    lost: int  # of them, turns that reached it without their context
    first_loss: str
    sent_bytes: int  # payload the agents sent to the gateway
    upstream_bytes: int  # bodies the gateway sent the mock (warm-ups and retries too)
    ttft_ms: float | None  # the agents' mean
    upstream_ttft_ms: float | None  # the mock's own mean
    error: str = ""  # the agents' most frequent failure (kind and HTTP status)
    forked: int = 0  # turns of forked subagents: the mock follows conversations, not forks; not counted above

    @property
    def amplification(self) -> float | None:
        """Bytes the gateway sent on per byte it received."""
        return self.upstream_bytes / self.sent_bytes if self.sent_bytes else None

    @property
    def added_ttft_ms(self) -> float | None:
        if self.ttft_ms is None or self.upstream_ttft_ms is None:
            return None
        return self.ttft_ms - self.upstream_ttft_ms

    @property
    def made_up(self) -> int:
        """Failures at the agents beyond the errors the mock answered: the gateway's own (a request it
        never sent on, or an answer it turned into an error)."""
        return max(0, self.turns_failed - self.upstream_errors)

    @property
    def swallowed(self) -> int:
        """Errors the mock answered that the agents never saw, and turns the agents saw complete that
        the mock never answered (answered by the gateway itself)."""
        return max(0, self.upstream_errors - self.turns_failed) + max(0, self.turns_ok - self.upstream_turns)

    @property
    def unmarked(self) -> bool:
        """The agents completed turns and none reached the mock as agentload's."""
        return self.turns_ok > 0 and self.upstream_turns == 0

    @property
    def not_served(self) -> bool:
        """Every turn answered 404: the gateway does not serve this strategy's endpoint (it says so;
        it loses nothing silently)."""
        return self.turns_ok == 0 and self.turns_failed > 0 and self.error.startswith("not_found")

    @property
    def failure(self) -> str | None:
        if self.not_served:
            return None
        if self.turns_ok == 0:
            return (
                f"{self.strategy}: every one of {self.turns_failed} turns failed at the agents ({self.error})"
            )
        if self.unmarked:
            return (
                f"{self.strategy}: none of {self.turns_ok} turns reached the upstream as agentload's "
                "(the gateway dropped or rewrote the system prompt that names the conversation, or its "
                "upstream is another server)"
            )
        if self.lost:
            return (
                f"{self.strategy}: {self.lost} of {self.upstream_turns} turns reached the upstream without "
                f"the context the conversation holds ({self.first_loss})"
            )
        return None


def rows(records: Iterable[dict[str, Any]], upstream: dict[str, Any]) -> list[Row]:
    """One row per strategy the agents ran, in the registry's order. A forked subagent's turns are
    counted apart: a fork goes on in its parent's conversation under a script of its own, which the
    mock follows by the fork's marker (mock.forks), not as one of agentload's conversations."""
    records = list(records)
    forks = {
        (r["strategy"], r["agent"], r["task_seq"])
        for r in records
        if r["kind"] == "task" and r.get("spawn") == "fork"
    }
    by: dict[str, dict[str, Any]] = {}
    for r in records:
        s = by.setdefault(
            r["strategy"],
            {"tasks": 0, "ok": 0, "failed": 0, "sent": 0, "ttft": [], "errors": Counter(), "forked": 0},
        )
        if (r["strategy"], r.get("agent"), r.get("task_seq")) in forks:
            s["forked"] += 1 if r["kind"] == "turn" else 0
        elif r["kind"] == "task":
            s["tasks"] += 1 if r.get("ok") else 0
        elif r["kind"] == "turn":
            if r.get("ok"):
                s["ok"] += 1
                if r.get("ttft_ms") is not None:
                    s["ttft"].append(r["ttft_ms"])
            elif r.get("error_kind") != ErrorKind.INTERRUPTED:
                s["failed"] += 1
                s["errors"][f"{r.get('error_kind')}, HTTP {r.get('http_status')}"] += 1
            s["sent"] += r.get("payload_bytes_sent") or 0
    seen = upstream.get("strategies", {})
    out = []
    for name in sorted(by, key=order):
        c, u = by[name], seen.get(name, {})
        out.append(
            Row(
                strategy=name,
                tasks=c["tasks"],
                turns_ok=c["ok"],
                turns_failed=c["failed"],
                upstream_turns=int(u.get("turns", 0)),
                upstream_errors=int(u.get("errors", 0)),
                lost=int(u.get("lost", 0)),
                first_loss=str(u.get("first_loss", "")),
                sent_bytes=c["sent"],
                upstream_bytes=int(u.get("body_bytes", 0)),
                ttft_ms=sum(c["ttft"]) / len(c["ttft"]) if c["ttft"] else None,
                upstream_ttft_ms=u.get("ttft_ms_mean"),
                error=c["errors"].most_common(1)[0][0] if c["errors"] else "",
                forked=c["forked"],
            )
        )
    return out


HEADER = (
    "strategy", "context", "tasks", "turns (agents/upstream)", "KB/turn to gateway", "KB/turn to upstream",
    "amplification", "TTFT ms", "upstream TTFT ms", "TTFT added ms", "errors made up", "swallowed",
)  # fmt: skip


def cells(row: Row) -> list[str]:
    turns = row.turns_ok or None  # (none completed: no figure per turn)
    context = (
        "not served"
        if row.not_served
        else "kept"
        if row.failure is None
        else "LOST"
        if row.lost
        else "unmarked"
    )
    amp = row.amplification
    return [
        row.strategy,
        context,
        str(row.tasks),
        f"{row.turns_ok}/{row.upstream_turns}",
        text(row.sent_bytes / turns if turns else None, Fmt.KB1),
        text(row.upstream_bytes / turns if turns else None, Fmt.KB1),
        "-" if amp is None or not turns else f"x{amp:.2f}",
        text(row.ttft_ms, Fmt.MS),
        text(row.upstream_ttft_ms, Fmt.MS),
        text(row.added_ttft_ms, Fmt.MS),
        str(row.made_up),
        str(row.swallowed),
    ]


def markdown(table: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in table]
    return "\n".join(lines)
