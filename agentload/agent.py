"""The agent loop: one agent works through one coding task at a time, turn by turn.

A turn: send the request the strategy calls for, stream the reply, run the tool calls it asked for
(simulated: the task file gives each result's content and latency), and go again until the model
answers with a message or the task's turn budget is spent. Every attempt becomes a TurnRecord, every
task a TaskRecord; the callbacks hand them to Locust's stats, the records file and InfluxDB.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from gevent import GreenletExit

from .rate_headers import RateLimitInfo
from .records import ErrorKind, TaskRecord, TurnRecord
from .stream import TurnOutcome
from .synth import TextCache
from .transports import TASK_HEADER, ChatHttp, ResponsesHttp, ResponsesWebSocket, Timeouts, Transport
from .wire.uplink import Uplink
from .workload import Task

TASK_METADATA_KEY = "agentload_task"  # the mock's scripted model follows the task named here
ON_429 = ("honor", "retry", "fail")
HONOR_JITTER = 0.5  # waits are stretched by up to 50 %, so agents told the same time do not stampede
HONOR_FLOOR_S, HONOR_FLOOR_MAX_S = 0.1, 8.0  # repeated 429s on one turn: the wait's floor doubles
RETRY_BASE_S, RETRY_MAX_S = 0.5, 30.0  # --on-429 retry: exponential backoff, full jitter
DEFAULT_WAIT_S = 1.0  # honor, when a 429 names no time at all
# after a transient failure: the openai SDK's backoff (0.5 s doubling to 8 s, up to 25 % less)
RETRY_FAILURE_BASE_S, RETRY_FAILURE_MAX_S = 0.5, 8.0
IMMEDIATE_RETRY = frozenset({ErrorKind.CONNECTION_LIMIT, ErrorKind.PREVIOUS_NOT_FOUND})  # no wait: resend


@dataclass(frozen=True)
class Strategy:
    """A continuation strategy (DESIGN.md): how each turn reaches the model and what it resends."""

    name: str
    transport: str  # "http", "ws" or "chat"
    store: bool
    chained: bool  # continues by previous_response_id instead of resending the history

    def make_transport(
        self, base: str, headers: dict[str, str], timeouts: Timeouts, uplink_kbps: float = 0.0
    ) -> Transport:
        """The agent's own connection; ``uplink_kbps`` > 0 shapes its upload rate (agentload.wire.uplink)."""
        uplink = Uplink(uplink_kbps) if uplink_kbps > 0 else None
        if self.transport == "ws":
            return ResponsesWebSocket(base, headers, timeouts, uplink)
        if self.transport == "chat":
            return ChatHttp(base, headers, timeouts, uplink)
        return ResponsesHttp(base, headers, timeouts, uplink)


STRATEGY_TABLE: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("http-stateless", "http", store=False, chained=False),
        Strategy("http-chained", "http", store=True, chained=True),
        Strategy("ws", "ws", store=False, chained=True),
        Strategy("ws-stored", "ws", store=True, chained=True),
        Strategy("chat", "chat", store=False, chained=False),
    )
}


@dataclass(frozen=True)
class AgentSettings:
    strategy: Strategy
    model: str
    tool_latency_scale: float = 1.0
    tool_latency_jitter: float = 0.0  # each tool latency drawn within +-this fraction of the task's
    resend_instructions: bool = False  # also resend instructions and tools on chained turns
    on_429: str = "honor"  # honor: wait what the server says; retry: own backoff; fail: fail the task
    max_429_retries: int = 20  # per turn; then the task fails as rate_limited
    max_retries: int = 2  # per turn, after transient failures (ErrorKind.TRANSIENT); then the task fails
    outputs: TextCache | None = field(default=None, compare=False)  # rendered tool outputs, per process


def retry_backoff_s(kind: str | None, retry: int) -> float:
    """The wait before the ``retry``-th (0-based) new attempt after a transient failure."""
    if kind in IMMEDIATE_RETRY:
        return 0.0
    return min(RETRY_FAILURE_MAX_S, RETRY_FAILURE_BASE_S * 2**retry) * (1.0 - 0.25 * random.random())


def backoff_s(policy: str, attempt: int, info: RateLimitInfo, error_type: str | None) -> float:
    """How long to wait after the ``attempt``-th 429 of a turn (0-based), by policy."""
    if policy == "retry":
        return random.uniform(0, min(RETRY_MAX_S, RETRY_BASE_S * 2**attempt))
    # honor: at least what the server asks. retry-after says when the budget has room for one request,
    # not for every agent told the same: so a turn refused again waits a growing floor, with jitter.
    ms = info.wait_ms(error_type)
    asked = ms / 1000.0 if ms is not None and ms > 0 else DEFAULT_WAIT_S
    floor = min(HONOR_FLOOR_MAX_S, HONOR_FLOOR_S * 2**attempt) if attempt else 0.0
    return max(asked, floor) * (1.0 + random.uniform(0, HONOR_JITTER))


class Conversation:
    """The full history (kept for stateless resends and for recovery) and what is new since the
    last response."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": task.prompt}]
        self.new_items: list[dict[str, Any]] = list(self.items)
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": task.instructions},
            {"role": "user", "content": task.prompt},
        ]
        self.previous_response_id: str | None = None
        self.session = 0  # the transport's session when the last response completed

    @property
    def started(self) -> bool:
        return self.previous_response_id is not None

    def add_reply(self, out: TurnOutcome, session: int) -> None:
        self.session = session
        calls = [
            {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
            for c in out.calls
        ]
        self.items.extend(calls)
        self.new_items = []
        if out.calls:
            self.messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in out.calls
                    ],
                }
            )
        self.previous_response_id = out.response_id

    def add_tool_output(self, call_id: str, output: str) -> None:
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        self.items.append(item)
        self.new_items.append(item)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


def chat_tools(task: Task) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]},
        }
        for t in task.tools
    ]


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        transport: Transport,
        agent_id: int,
        on_turn: Callable[[TurnRecord, TurnOutcome], None],
        on_task: Callable[[TaskRecord], None],
        sleep: Callable[[float], None] = gevent.sleep,
        on_attempt: Callable[[str], None] | None = None,
    ) -> None:
        self.s = settings
        self.transport = transport
        self.agent_id = agent_id
        self.on_turn = on_turn
        self.on_task = on_task
        self.sleep = sleep
        self.on_attempt = on_attempt  # told before every attempt: started = succeeded + failed, checked
        self.tasks_done = 0

    # ------------------------------------------------------------------------------------ requests
    def _request(self, conv: Conversation, full: bool) -> tuple[dict[str, Any], dict[str, str] | None]:
        st = self.s.strategy
        task = conv.task
        if st.transport == "chat":
            return (
                {
                    "model": self.s.model,
                    "messages": conv.messages,
                    "tools": chat_tools(task),
                    "stream": True,
                    "stream_options": {"include_usage": True},
                },
                {TASK_HEADER: task.name},
            )
        body: dict[str, Any] = {"model": self.s.model}
        if full or self.s.resend_instructions:
            body["instructions"] = task.instructions
            body["tools"] = list(task.tools)
        if full:
            body["input"] = conv.items
        else:
            body["previous_response_id"] = conv.previous_response_id
            body["input"] = conv.new_items
        body["store"] = st.store
        if full:
            body["metadata"] = {TASK_METADATA_KEY: task.name}
        if st.transport == "ws":
            return {"type": "response.create", **body}, None
        body["stream"] = True
        return body, None

    # ------------------------------------------------------------------------------------ the loop
    def run_task(self, task: Task) -> TaskRecord:
        st = self.s.strategy
        conv = Conversation(task)
        self.tasks_done += 1
        t0 = time.perf_counter()
        rec = TaskRecord(
            strategy=st.name,
            task=task.name,
            model=self.s.model,
            agent=self.agent_id,
            task_seq=self.tasks_done,
            started_at=time.time(),
            duration_ms=0.0,
            turns=0,
            tool_calls=0,
            bytes_sent=0,
            bytes_received=0,
        )
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
        turn = 0
        while turn < task.max_turns:
            out = self._turn(conv, rec, turn)
            if not out.ok:
                rec.ok, rec.error_kind = False, out.error_kind
                return
            rec.turns += 1
            conv.add_reply(out, self.transport.session)
            if not out.calls:
                return
            rec.tool_calls += len(out.calls)
            latency = 0.0
            for i, call in enumerate(out.calls):
                spec = self._result_spec(task, turn, i, call.name)
                conv.add_tool_output(call.call_id, spec.render(f"{task.name}:{turn}:{i}", self.s.outputs))
                latency += spec.latency_s
            latency *= self.s.tool_latency_scale
            if self.s.tool_latency_jitter:
                latency *= random.uniform(1.0 - self.s.tool_latency_jitter, 1.0 + self.s.tool_latency_jitter)
            rec.tool_time_ms += latency * 1000.0
            if latency > 0:
                self.sleep(latency)
            turn += 1

    @staticmethod
    def _result_spec(task: Task, turn: int, index: int, name: str) -> Any:
        if turn < len(task.turns) and index < len(task.turns[turn].calls):
            scripted = task.turns[turn].calls[index]
            if scripted.tool == name:
                return scripted.result
        return task.profile_for(name)

    def _needs_full_context(self, conv: Conversation, forced: bool) -> bool:
        """Resend everything? Always for stateless strategies and a task's first turn; for chained ones
        when the server lost what it held: an unknown previous_response_id (``forced``), or a new
        WebSocket where the response lived only in the old connection's memory (store=false)."""
        st = self.s.strategy
        if not st.chained or not conv.started or forced:
            return True
        return st.transport == "ws" and not st.store and self.transport.session != conv.session

    def _turn(self, conv: Conversation, rec: TaskRecord, turn: int) -> TurnOutcome:
        """One model turn. 429 waits (by the --on-429 policy, up to max_429_retries) and retries after
        transient failures (up to max_retries, with the SDK's backoff) are further attempts of the same
        turn, each its own TurnRecord; a retry that must resend the full context is a recovery."""
        st = self.s.strategy
        forced_full = False
        retries = rate_waits = attempt = 0
        while True:
            full = self._needs_full_context(conv, forced_full)
            recovery = full and st.chained and conv.started
            body, headers = self._request(conv, full)
            sent0, recv0 = self.transport.counter.snapshot()
            connects0 = getattr(self.transport, "connects", 0)
            started = time.time()
            if self.on_attempt is not None:
                self.on_attempt(st.name)
            t0 = time.perf_counter()
            try:
                out = self.transport.exchange(body, headers)
            except GreenletExit:  # stopped mid-turn: the attempt is recorded as interrupted, with
                # the bytes it had sent and received (the server counted them too)
                out = TurnOutcome(t_start=t0)
                out.fail(ErrorKind.INTERRUPTED, "the run stopped during this turn")
                wire, hs = self._wire_since(sent0, recv0, connects0)
                self._record(conv, rec, turn, out, started, wire, hs, recovery, attempt, 0.0, None)
                # then the connection ends cleanly (a WebSocket close frame: the server sees an end,
                # not a reset); the close's bytes belong to no turn, as at any run's end
                self.transport.close()
                raise
            wire, hs = self._wire_since(sent0, recv0, connects0)
            rl = RateLimitInfo.from_headers(out.headers) if out.headers else RateLimitInfo()
            wait = 0.0
            rate_limited = out.error_kind == ErrorKind.RATE_LIMITED
            retry = False
            if rate_limited and self.s.on_429 != "fail" and rate_waits < self.s.max_429_retries:
                wait, retry = backoff_s(self.s.on_429, rate_waits, rl, out.error_type), True
                rate_waits += 1
            elif not out.ok and self._retryable(out) and retries < self.s.max_retries:
                wait, retry = retry_backoff_s(out.error_kind, retries), True
                retries += 1
                rec.retries += 1
            self._record(conv, rec, turn, out, started, wire, hs, recovery, attempt, wait, rl)
            if out.ok or not retry:
                return out
            attempt += 1
            if wait > 0:
                self.sleep(wait)
            if out.error_kind == ErrorKind.PREVIOUS_NOT_FOUND:
                forced_full = True

    def _wire_since(self, sent0: int, recv0: int, connects0: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """The bytes sent and received since the counter read ``(sent0, recv0)``, and the handshake's
        share of them when this attempt opened a connection."""
        sent1, recv1 = self.transport.counter.snapshot()
        hs = (0, 0)
        if getattr(self.transport, "connects", 0) != connects0 and getattr(self.transport, "conn", None):
            hs = self.transport.conn.handshake_bytes  # type: ignore[attr-defined]
        return (sent1 - sent0, recv1 - recv0), hs

    def _record(
        self,
        conv: Conversation,
        rec: TaskRecord,
        turn: int,
        out: TurnOutcome,
        started: float,
        wire: tuple[int, int],
        handshake: tuple[int, int],
        recovery: bool,
        attempt: int,
        wait: float,
        rl: RateLimitInfo | None,
    ) -> None:
        """One attempt as a TurnRecord, added into the task's record and handed on."""
        rl = rl or RateLimitInfo()
        usage = out.usage or {}
        end = out.t_end or time.perf_counter()
        tr = TurnRecord(
            strategy=self.s.strategy.name,
            task=conv.task.name,
            model=self.s.model,
            agent=self.agent_id,
            task_seq=rec.task_seq,
            turn=turn,
            started_at=started,
            duration_ms=(end - out.t_start) * 1000.0,
            ttft_ms=(out.t_first_token - out.t_start) * 1000.0 if out.t_first_token else None,
            bytes_sent=wire[0],
            bytes_received=wire[1],
            connect_bytes_sent=handshake[0],
            connect_bytes_received=handshake[1],
            input_tokens=usage.get("input_tokens", 0),
            cached_tokens=(usage.get("input_tokens_details") or {}).get("cached_tokens", 0),
            output_tokens=usage.get("output_tokens", 0),
            tool_calls=len(out.calls),
            events=out.events,
            ok=out.ok,
            error_kind=out.error_kind,
            error_code=out.error_code,
            http_status=out.http_status,
            response_id=out.response_id,
            recovery=recovery,
            error_type=out.error_type,
            rl_remaining_requests=rl.remaining_requests,
            rl_remaining_tokens=rl.remaining_tokens,
            rl_reset_requests_ms=rl.reset_requests_ms,
            rl_reset_tokens_ms=rl.reset_tokens_ms,
            retry_after_ms=rl.retry_after_ms,
            wait_ms=wait * 1000.0,
            attempt=attempt,
            client_lag_ms=out.client_lag_ms,
        )
        rec.bytes_sent += tr.bytes_sent
        rec.bytes_received += tr.bytes_received
        rec.input_tokens += tr.input_tokens
        rec.cached_tokens += tr.cached_tokens
        rec.output_tokens += tr.output_tokens
        if recovery:
            rec.recoveries += 1
        if turn == 0 and tr.ttft_ms is not None and rec.ttft_first_ms is None:
            rec.ttft_first_ms = tr.ttft_ms
        if out.ok:
            rec.turn_bytes_sent.append(tr.bytes_sent)
        if out.error_kind == ErrorKind.RATE_LIMITED:
            rec.rate_limited += 1
            rec.rate_limit_wait_ms += tr.wait_ms
        self.on_turn(tr, out)

    def _retryable(self, out: TurnOutcome) -> bool:
        if out.error_kind == ErrorKind.PREVIOUS_NOT_FOUND:
            return self.s.strategy.chained
        return out.error_kind in ErrorKind.TRANSIENT


def describe_outcome(out: TurnOutcome) -> str:
    """A one-line failure description for Locust's failure table (never includes headers or keys)."""
    parts = [out.error_kind or "error"]
    if out.http_status:
        parts.append(f"HTTP {out.http_status}")
    if out.error_code:
        parts.append(out.error_code)
    if out.error_kind == ErrorKind.RATE_LIMITED:  # the message carries changing numbers: one row per type
        return " ".join(parts) + f" ({out.error_type or 'unknown'})"
    if out.error_kind == ErrorKind.AUTH:  # OpenAI's message echoes part of the refused key
        return " ".join(parts) + ": the API key was refused"
    return ": ".join([" ".join(parts), (out.error_message or "")[:160]])


def parse_json_list(value: str) -> list[str]:
    """Comma-separated option values (``ws,http-stateless``) or a JSON list."""
    value = value.strip()
    if value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [v.strip() for v in value.split(",") if v.strip()]
