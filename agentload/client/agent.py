"""The agent loop: one agent works through one coding task at a time, turn by turn.

A turn: send the request the strategy calls for, stream the reply, run the tool calls it asked for
(simulated: the task file gives each result's content and latency), and go again until the model
answers with a message or the task's turn budget is spent. Every attempt becomes a TurnRecord, every
task a TaskRecord; the callbacks hand them on (in a Locust run: to the run's components).
"""

from __future__ import annotations

import itertools
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
from gevent import GreenletExit

from ..core.protocol import TASK_METADATA_KEY
from ..core.rate_headers import RateLimitInfo
from ..core.records import TRANSIENT, ErrorKind, TaskRecord, TurnRecord
from ..workload import Task
from ..workload.profile import MINIMAL
from ..workload.task import Subagent, SubagentKind
from .backoff import rate_limit_backoff_s, retry_backoff_s
from .conversation import Conversation
from .settings import AgentSettings, On429
from .stream import TurnOutcome
from .transports import ConversationOpener, Transport

OnTurn = Callable[[TurnRecord, TurnOutcome], None]
OnTask = Callable[[TaskRecord], None]
# a subagent's own connection, given its parent's transport: a new one, or a lane of the same
# WebSocket (ws-mux); closed when the subagent is done
SpawnTransport = Callable[[Transport], Transport]


Tokens = tuple[int | None, int | None, int | None, int | None]  # input, cached, output, reasoning


def usage_tokens(usage: dict[str, Any] | None) -> Tokens:
    """A reply's usage (Responses shape) as counts; all None where the server reported none (``usage:
    null`` or absent): unknown, never 0. A detail the server left out of a usage it did report is 0."""
    if not usage or usage.get("input_tokens") is None:
        return None, None, None, None
    return (
        int(usage.get("input_tokens") or 0),
        int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        int((usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0),
    )


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        transport: Transport,
        agent_id: int,
        on_turn: OnTurn,
        on_task: OnTask,
        sleep: Callable[[float], None] = gevent.sleep,
        on_attempt: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
        spawn: SpawnTransport | None = None,
        seq: Iterator[int] | None = None,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.agent_id = agent_id
        self.on_turn = on_turn
        self.on_task = on_task
        self.sleep = sleep
        self.on_attempt = on_attempt  # told before every attempt: started = succeeded + failed, checked
        self.rng = rng or random.Random()
        self.spawn = spawn  # None: calls that spawn subagents are answered empty (no connection for them)
        self.seq = seq or itertools.count(1)  # task_seq, shared with its subagents (one agent's tasks)
        self.tasks_done = 0
        self.final_message: str | None = None  # the last task's answer (a subagent's goes to its parent)

    # ------------------------------------------------------------------------------------ the loop
    def run_task(
        self,
        task: Task,
        conv: Conversation | None = None,
        parent: TaskRecord | None = None,
        spawn: SubagentKind | None = None,
    ) -> TaskRecord:
        """One task, to its answer or its failure. A subagent's (``parent``: the task that spawned it)
        begins with ``conv`` where it is a fork (its parent's conversation, forked), else anew."""
        st = self.settings.strategy
        if conv is None:
            conv = Conversation(task, self.settings.profile or task.client_profile or MINIMAL)
        self.tasks_done += 1
        self.final_message = None
        t0 = time.perf_counter()
        rec = TaskRecord(
            strategy=st.name,
            task=task.name,
            model=self.settings.model,
            agent=self.agent_id,
            task_seq=next(self.seq),
            started_at=time.time(),
            duration_ms=0.0,
            turns=0,
            tool_calls=0,
            bytes_sent=0,
            bytes_received=0,
            profile=conv.profile.name,
            link=self.settings.link,
        )
        if parent is not None:
            rec.spawn, rec.parent_seq, rec.depth = str(spawn or ""), parent.task_seq, parent.depth + 1
            rec.root_seq = parent.root_seq if parent.root_seq is not None else parent.task_seq
        try:
            self._work(task, conv, rec)
        except GreenletExit:  # the run stopped: the task is accounted for, then the agent stops
            rec.ok, rec.error_kind = False, ErrorKind.INTERRUPTED
            rec.duration_ms = (time.perf_counter() - t0) * 1000.0
            self.on_task(rec)
            raise
        rec.duration_ms = (time.perf_counter() - t0) * 1000.0
        self.on_task(rec)
        return rec

    def _work(self, task: Task, conv: Conversation, rec: TaskRecord) -> None:
        s = self.settings
        turn = 0
        while turn < task.max_turns:
            scripted = task.turns[turn] if 0 < turn < len(task.turns) else None
            if scripted is not None and scripted.compacted:  # the context shrinks: a new chain from here
                conv.compact(turn)
                rec.compactions += 1
            if scripted is not None and scripted.user_message is not None:  # the user's next message
                self._pause(scripted.pause_s or 0.0, rec)
                conv.add_user_message(scripted.user_message)
            reply = self._turn(conv, rec, turn)
            if not reply.ok:
                rec.ok, rec.error_kind = False, reply.error_kind
                return
            rec.turns += 1
            conv.add_reply(reply, self.transport.session)
            if not reply.calls:
                self.final_message = reply.message
                if not self._user_follows(task, turn):
                    return
                turn += 1  # an answer the session goes on after: the user writes again
                continue
            rec.tool_calls += len(reply.calls)
            latency = 0.0
            spawns: list[tuple[str, tuple[Subagent, ...]]] = []
            for i, call in enumerate(reply.calls):
                subagents = task.subagents_for(turn, i, call.name) if self.spawn is not None else ()
                if subagents:  # answered once its subagents are done
                    spawns.append((call.call_id, subagents))
                    continue
                spec = task.result_for(turn, i, call.name)
                conv.add_tool_output(call.call_id, spec.render(f"{task.name}:{turn}:{i}", s.outputs))
                latency += spec.latency_s
            latency *= s.tool_latency_scale
            if s.tool_latency_jitter:
                latency *= self.rng.uniform(1.0 - s.tool_latency_jitter, 1.0 + s.tool_latency_jitter)
            rec.tool_time_ms += latency * 1000.0
            if spawns:
                self._fan_out(conv, rec, spawns, latency)
            elif latency > 0:
                self.sleep(latency)
            turn += 1

    @staticmethod
    def _user_follows(task: Task, turn: int) -> bool:
        """The session goes on after this answer: its script's next turn carries a message of the
        user's (an imported session's; a built-in task ends at its answer)."""
        return (
            turn + 1 < min(len(task.turns), task.max_turns) and task.turns[turn + 1].user_message is not None
        )

    def _pause(self, pause_s: float, rec: TaskRecord) -> None:
        """The human's pause before a user message, held as a pause at --time-scale: nothing is sent.
        A WebSocket stays open and idle through it (the connection a real client keeps, and what a
        fleet of idle sessions costs the server), unless --idle-close ends it first: then the next
        turn reconnects (counted) and, store=false, resends the whole context. An HTTP agent holds no
        state through it. On ws-mux only the agent that owns the connection closes it (its subagents run
        between its turns, never through its pauses); a subagent's lane stays."""
        s = self.settings
        wall = pause_s * s.time_scale
        if wall <= 0:
            return
        rec.pauses += 1
        rec.pause_ms += wall * 1000.0
        close_after = s.idle_close_s * s.time_scale
        st = s.strategy
        owner = not st.mux or bool(getattr(self.transport, "root", False))
        if st.websocket and owner and 0 < close_after < wall and self.transport.is_open:
            self.sleep(close_after)
            self.transport.close()
            rec.idle_closes += 1
            self.sleep(wall - close_after)
        else:
            self.sleep(wall)

    def _fan_out(
        self,
        conv: Conversation,
        rec: TaskRecord,
        spawns: list[tuple[str, tuple[Subagent, ...]]],
        latency: float,
    ) -> None:
        """The turn's subagents, all at once, each on its own connection (or lane), while the turn's
        other calls take their time; then each spawning call's output is its subagents' final messages,
        in order (fan-in). A fork begins from the conversation as it stands: the other calls answered,
        the spawning ones open (each gets a placeholder in the fork)."""
        spawned = [call_id for call_id, _ in spawns]
        runs = [
            (
                call_id,
                sub,
                conv.fork(sub.task, secrets.token_hex(6), spawned) if sub.kind == SubagentKind.FORK else None,
            )
            for call_id, subagents in spawns
            for sub in subagents
        ]
        greenlets = [gevent.spawn(self._run_subagent, sub, child_conv, rec) for _, sub, child_conv in runs]
        try:
            if latency > 0:
                self.sleep(latency)
            gevent.joinall(greenlets, raise_error=True)
        finally:
            gevent.killall([g for g in greenlets if not g.dead])
        finals: dict[str, list[str]] = {}
        for (call_id, _, _), g in zip(runs, greenlets, strict=True):
            child, final = g.value
            rec.subagents += 1
            rec.subagent_ms += child.duration_ms
            finals.setdefault(call_id, []).append(
                final if child.ok and final is not None else f"(the subagent failed: {child.error_kind})"
            )
        for call_id in spawned:
            conv.add_tool_output(call_id, "\n\n".join(finals[call_id]))

    def _run_subagent(
        self, sub: Subagent, conv: Conversation | None, parent: TaskRecord
    ) -> tuple[TaskRecord, str | None]:
        """One subagent, as an agent of its own on its own transport (closed when it is done): its
        task's record and its final message."""
        assert self.spawn is not None
        transport = self.spawn(self.transport)
        child = Agent(
            self.settings, transport, self.agent_id, self.on_turn, self.on_task, self.sleep,
            self.on_attempt, random.Random(self.rng.random()), self.spawn, self.seq,
        )  # fmt: skip
        try:
            rec = child.run_task(sub.task, conv, parent, sub.kind)
        finally:
            transport.close()
        return rec, child.final_message

    def _needs_full_context(self, conv: Conversation, forced: bool) -> bool:
        """Resend everything? Always for stateless strategies, a task's first turn and a client profile
        that never continues; for chained ones when the server lost what it held: an unknown
        previous_response_id (``forced``), or a new WebSocket where the response lived only in the old
        connection's memory (store=false)."""
        st = self.settings.strategy
        if not st.continues or not conv.started or forced or not conv.profile.continues:
            return True
        if st.conversation and conv.conversation_id is None:  # (a fork: a Conversation of its own)
            return True
        return st.websocket and not st.store and self.transport.session != conv.session

    def _turn(self, conv: Conversation, rec: TaskRecord, turn: int) -> TurnOutcome:
        """One model turn. 429 waits (by the --on-429 policy, up to max_429_retries) and retries after
        transient failures (up to max_retries, with the SDK's backoff) are further attempts of the same
        turn, each its own TurnRecord; a retry that must resend the full context is a recovery."""
        s = self.settings
        forced_full = False
        retries = rate_waits = attempt = 0
        while True:
            full = self._needs_full_context(conv, forced_full)
            warm = full and s.strategy.websocket and (conv.profile.continues or not conv.started)
            warmup = self.transport.build_warmup(conv, s) if warm else None
            recovery = full and s.strategy.continues and conv.started and conv.profile.continues
            recovery = recovery and not (conv.forked and turn == 0 and attempt == 0)  # (a fork's start)
            att = _Attempt.begin(self.transport, turn, attempt, recovery, warmup is not None)
            if self.on_attempt is not None:
                self.on_attempt(s.strategy.name)
            t0 = time.perf_counter()
            try:
                reply = self._warm_up(conv, *warmup) if warmup is not None else None
                # (a client that never continues keeps no state on the server: no conversation either)
                opens = s.strategy.conversation and conv.profile.continues
                if reply is None and opens and conv.conversation_id is None:
                    reply = self._open_conversation(conv)
                if reply is None or reply.ok:  # (a failed warm-up is the attempt's outcome)
                    body, headers = self.transport.build(conv, s, full and warmup is None)
                    reply = self.transport.exchange(body, headers)
            except GreenletExit:  # stopped mid-turn: the attempt is recorded as interrupted, with
                # the bytes it had sent and received (the server counted them too)
                reply = TurnOutcome(t_start=t0)
                reply.fail(ErrorKind.INTERRUPTED, "the run stopped during this turn")
                self._record(conv, rec, att, reply, 0.0, None)
                # then the connection ends cleanly (a WebSocket close frame: the server sees an end,
                # not a reset); the close's bytes belong to no turn, as at any run's end
                self.transport.close()
                raise
            rl = RateLimitInfo.from_headers(reply.headers) if reply.headers else RateLimitInfo()
            wait = 0.0
            rate_limited = reply.error_kind == ErrorKind.RATE_LIMITED
            retry = False
            if rate_limited and s.on_429 != On429.FAIL and rate_waits < s.max_429_retries:
                wait = rate_limit_backoff_s(s.on_429, rate_waits, rl, reply.error_type, self.rng)
                retry = True
                rate_waits += 1
            elif not reply.ok and self._retryable(reply) and retries < s.max_retries:
                wait, retry = retry_backoff_s(reply.error_kind, retries, self.rng), True
                retries += 1
                rec.retries += 1
            self._record(conv, rec, att, reply, wait, rl)
            if reply.ok or not retry:
                return reply
            attempt += 1
            if wait > 0:
                self.sleep(wait)
            if reply.error_kind == ErrorKind.PREVIOUS_NOT_FOUND:
                forced_full = True
            if s.strategy.conversation and conv.started and reply.http_status in (None, 200):
                # the server may have finished the response and joined it to the conversation before
                # the turn failed (a stream cut off, malformed, stalled): a new conversation, and the
                # whole history in it (a recovery), as a client that cannot know does
                conv.conversation_id, forced_full = None, True
            if s.strategy.mux and not s.strategy.store and reply.http_status in (None, 200):
                # the lane gave up on a response the server may still finish (a malformed event, a
                # stall, no first token in time: the lane is retired, the connection kept for the
                # others); finished, it becomes that lane's latest in the connection's memory in place
                # of the one this turn continues from. The whole context (a recovery), as ws resends
                # it on the new connection its reset opens
                forced_full = True

    def _warm_up(
        self, conv: Conversation, body: dict[str, Any], headers: dict[str, str] | None
    ) -> TurnOutcome:
        """The profile's warm-up (``generate: false``, the leading context items) on a new connection:
        the turn's request then continues from its response. Its bytes are the attempt's."""
        reply = self.transport.exchange(body, headers)
        if reply.ok:
            conv.warmed_up(reply.response_id, self.transport.session)
        return reply

    def _open_conversation(self, conv: Conversation) -> TurnOutcome:
        """The task's Conversation, made before its first request (``POST /v1/conversations``, naming
        the task in its metadata). Not a turn: its bytes are the first attempt's, as a warm-up's are,
        and its time the task's, outside the first turn's TTFT and duration. A failed one is the
        attempt's outcome (retried as a failed turn is)."""
        transport = self.transport
        if not isinstance(transport, ConversationOpener):
            reply = TurnOutcome()
            reply.fail(ErrorKind.PROTOCOL, "this transport cannot make a conversation", "no_conversations")
            return reply
        reply = transport.open_conversation({TASK_METADATA_KEY: conv.task.name})
        if reply.ok:
            conv.conversation_id = reply.response_id
        return reply

    def _record(
        self,
        conv: Conversation,
        rec: TaskRecord,
        att: _Attempt,
        reply: TurnOutcome,
        wait: float,
        rl: RateLimitInfo | None,
    ) -> None:
        """One attempt as a TurnRecord, added into the task's record and handed on."""
        wire, handshake, payload = att.bytes_since(self.transport)
        rl = rl or RateLimitInfo()
        tokens = usage_tokens(reply.usage)
        end = reply.t_end or time.perf_counter()
        tr = TurnRecord(
            strategy=self.settings.strategy.name,
            task=conv.task.name,
            model=self.settings.model,
            agent=self.agent_id,
            task_seq=rec.task_seq,
            turn=att.turn,
            started_at=att.started,
            duration_ms=(end - reply.t_start) * 1000.0,
            ttft_ms=(reply.t_first_token - reply.t_start) * 1000.0 if reply.t_first_token else None,
            bytes_sent=wire[0],
            bytes_received=wire[1],
            payload_bytes_sent=payload[0],
            payload_bytes_received=payload[1],
            connect_bytes_sent=handshake[0],
            connect_bytes_received=handshake[1],
            input_tokens=tokens[0],
            cached_tokens=tokens[1],
            output_tokens=tokens[2],
            reasoning_tokens=tokens[3],
            tool_calls=len(reply.calls),
            events=reply.events,
            ok=reply.ok,
            error_kind=reply.error_kind,
            error_code=reply.error_code,
            http_status=reply.http_status,
            response_id=reply.response_id,
            recovery=att.recovery,
            error_type=reply.error_type,
            rl_remaining_requests=rl.remaining_requests,
            rl_remaining_tokens=rl.remaining_tokens,
            rl_reset_requests_ms=rl.reset_requests_ms,
            rl_reset_tokens_ms=rl.reset_tokens_ms,
            retry_after_ms=rl.retry_after_ms,
            wait_ms=wait * 1000.0,
            attempt=att.number,
            client_lag_ms=reply.client_lag_ms,
            profile=conv.profile.name,
            warmup=att.warmup,
            link=self.settings.link,
        )
        rec.bytes_sent += tr.bytes_sent
        rec.bytes_received += tr.bytes_received
        rec.payload_bytes_sent += tr.payload_bytes_sent
        rec.payload_bytes_received += tr.payload_bytes_received
        if tr.input_tokens is not None:
            rec.input_tokens += tr.input_tokens
            rec.cached_tokens += tr.cached_tokens or 0
            rec.output_tokens += tr.output_tokens or 0
            rec.reasoning_tokens += tr.reasoning_tokens or 0
        elif tr.usage_unknown:
            rec.usage_unknown_turns += 1
        if att.recovery:
            rec.recoveries += 1
        connects = self.transport.connects
        if connects > att.connects0 and connects > 1:  # a WebSocket opened after the agent's first
            rec.reconnects += min(connects - att.connects0, connects - 1)
        if att.turn == 0 and tr.ttft_ms is not None and rec.ttft_first_ms is None:
            rec.ttft_first_ms = tr.ttft_ms
        if reply.ok and tr.ttft_ms is not None:
            rec.ttft_max_ms = max(rec.ttft_max_ms or 0.0, tr.ttft_ms)
        if reply.ok:
            rec.turn_bytes_sent.append(tr.bytes_sent)
        if reply.error_kind == ErrorKind.RATE_LIMITED:
            rec.rate_limited += 1
            rec.rate_limit_wait_ms += tr.wait_ms
        self.on_turn(tr, reply)

    def _retryable(self, reply: TurnOutcome) -> bool:
        if reply.error_kind == ErrorKind.PREVIOUS_NOT_FOUND:
            return self.settings.strategy.chained
        return reply.error_kind in TRANSIENT


@dataclass(frozen=True)
class _Attempt:
    """One attempt of a turn: which, how it began, and the transport's counters at its start (its
    bytes are everything they moved since, a warm-up and a new connection's handshake included)."""

    turn: int
    number: int  # 0 for the turn's first attempt
    recovery: bool  # it resends the full context after the server's state was lost
    warmup: bool  # it begins with a warm-up request
    started: float  # Unix time
    wire0: tuple[int, int]
    payload0: tuple[int, int]
    connects0: int

    @classmethod
    def begin(cls, transport: Transport, turn: int, number: int, recovery: bool, warmup: bool) -> _Attempt:
        c = transport.counter
        return cls(turn, number, recovery, warmup, time.time(), c.snapshot(), c.payload_snapshot(),
                   transport.connects)  # fmt: skip

    def bytes_since(self, transport: Transport) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """(wire, handshake, payload) as (sent, received): the wire and payload bytes since the start,
        and the handshake's share of the wire when this attempt opened a connection."""
        (s1, r1), (p1, q1) = transport.counter.snapshot(), transport.counter.payload_snapshot()
        hs = transport.handshake_bytes if transport.connects != self.connects0 else (0, 0)
        return (s1 - self.wire0[0], r1 - self.wire0[1]), hs, (p1 - self.payload0[0], q1 - self.payload0[1])


def describe_outcome(reply: TurnOutcome) -> str:
    """A one-line failure description for Locust's failure table (never includes headers or keys)."""
    parts = [reply.error_kind or "error"]
    if reply.http_status:
        parts.append(f"HTTP {reply.http_status}")
    if reply.error_code:
        parts.append(reply.error_code)
    if reply.error_kind == ErrorKind.RATE_LIMITED:  # the message carries changing numbers: one row per type
        return " ".join(parts) + f" ({reply.error_type or 'unknown'})"
    if reply.error_kind == ErrorKind.AUTH:  # OpenAI's message echoes part of the refused key
        return " ".join(parts) + ": the API key was refused"
    return ": ".join([" ".join(parts), (reply.error_message or "")[:160]])
