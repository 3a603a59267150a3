"""The Locust users: one agent each, one class per strategy (``from agentload import WsAgent``).

One user = one agent = one connection (HTTP keep-alive or WebSocket), working through the selected
tasks one after another, like a developer's agent process; with ``--agents-per-user N`` one user is an
engineer's workstation running N such agents at once (on ws-mux all on the user's one WebSocket, a
lane each). An agent's subagents get connections of their own (ws-mux: lanes of the same one). Its agent hands every record to the run's
components through the run context's events. In the sessions loop (runtime.loop) a user is a free
agent of the fleet instead: it waits for a session to arrive, then opens a connection, runs one task
as a new agent, and closes it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import ClassVar

import gevent
import gevent.pool
from locust import User, constant_throughput, task

from ..client import Agent, Transport, api_base, make_transport, spawner
from ..client.backoff import TaskBackoff
from ..core.records import ErrorKind
from ..core.strategies import BY_NAME, STRATEGIES, Strategy
from ..workload import Task
from . import plugin  # noqa: F401  (importing the users installs agentload's options and listeners)
from .context import context_of
from .loop import SESSIONS, Clock, LoopKind
from .options import request_headers
from .registry import registry_of


class AgentUser(User):
    abstract = True
    strategy: ClassVar[Strategy]

    def wait_time(self) -> float:
        """Closed loop (back to back) unless --task-rate paces each agent (open loop). In the sessions
        loop this is where a free agent waits for a session to arrive: Locust stops a waiting user at
        once, so arrivals end with the run instead of starting sessions while it stops."""
        clock: Clock | None = getattr(self, "_clock", None)
        if clock is not None:
            clock.wait()
            self._ticket = True
            return 0.0
        loop = context_of(self.environment).settings.loop
        return constant_throughput(loop.task_rate)(self) if loop.kind == LoopKind.TASK_RATE else 0.0

    def on_start(self) -> None:
        ctx = context_of(self.environment)
        settings = ctx.settings
        tasks = list(settings.tasks)
        self._clock: Clock | None = None
        self._ticket = False  # a session arrived for this agent (taken in wait_time)
        if settings.loop.kind == LoopKind.SESSIONS:
            sessions = registry_of(self.environment).get(SESSIONS)
            self._clock = sessions.join(type(self).__name__, self.strategy.name)
        # the engineer's API key (--api-keys: the file's keys in turn), which all its agents send
        keys = settings.api_keys
        self._key = keys[next(ctx.engineer_ids) % len(keys)] if keys else None
        self.agent, self.transport = self._new_agent()
        self._tasks = _task_cycle(tasks, self.agent.agent_id)
        self._backoff = TaskBackoff()
        # an engineer's other agents, each working through its own tasks beside this one's (the user's
        # own greenlet runs the first agent, so Locust's stop, wait and stats hold for it as for any)
        self._crew = gevent.pool.Group()
        self._crew_transports: list[Transport] = []
        for _ in range(1, settings.options.agents_per_user if self._clock is None else 1):
            agent, transport = self._new_agent(beside=self.transport)
            self._crew_transports.append(transport)
            self._crew.spawn(self._keep_working, agent, _task_cycle(tasks, agent.agent_id))
        if settings.options.start_jitter > 0 and self._clock is None:
            gevent.sleep(random.uniform(0.0, settings.options.start_jitter))

    def _keep_working(self, agent: Agent, tasks: Iterator[Task]) -> None:
        """One of an engineer's other agents: its tasks back to back, as the user's own agent works."""
        jitter = context_of(self.environment).settings.options.start_jitter
        if jitter > 0:
            gevent.sleep(random.uniform(0.0, jitter))
        backoff = TaskBackoff()
        while True:
            rec = agent.run_task(next(tasks))
            wait = backoff.after(rec.ok, rec.error_kind == ErrorKind.INTERRUPTED)
            if wait > 0:
                gevent.sleep(wait)

    def _new_agent(self, beside: Transport | None = None) -> tuple[Agent, Transport]:
        """An agent with its own connection (its transport connects on its first request); ``beside``
        another agent of the same engineer: on ws-mux a lane of that agent's WebSocket instead."""
        ctx = context_of(self.environment)
        settings = ctx.settings
        host = self.host or self.environment.host or ""
        base, headers = api_base(host), request_headers(getattr(self, "_key", None))
        spawn = spawner(self.strategy, base, headers, settings.transport)
        transport = (
            spawn(beside)
            if beside is not None
            else make_transport(self.strategy, base, headers, settings.transport)
        )
        events = ctx.events
        agent = Agent(
            settings.agent(self.strategy, ctx.tool_outputs),
            transport,
            next(ctx.agent_ids),
            on_turn=lambda rec, outcome: events.turn.fire(record=rec, outcome=outcome),
            on_task=lambda rec: events.task.fire(record=rec),
            on_attempt=lambda strategy: events.attempt.fire(strategy=strategy),
            spawn=spawn,
        )
        return agent, transport

    @task
    def work_one_task(self) -> None:
        if self._clock is not None:
            if not self._ticket:  # (the first task: Locust runs it before any wait)
                self.wait()
            self._ticket = False
            self._run_session()
            return
        rec = self.agent.run_task(next(self._tasks))
        wait = self._backoff.after(rec.ok, rec.error_kind == ErrorKind.INTERRUPTED)
        if wait > 0:
            gevent.sleep(wait)

    def _run_session(self) -> None:
        """One arriving session: a new agent on a new connection, one task, then it leaves."""
        self.transport.close()
        self.agent, self.transport = self._new_agent()
        try:
            self.agent.run_task(next(self._tasks))
        finally:
            self.transport.close()

    def on_stop(self) -> None:
        crew = getattr(self, "_crew", None)
        if crew is not None:  # the engineer's other agents stop with it (each records what it was doing)
            crew.kill(block=True, timeout=30)
            for t in self._crew_transports:
                t.close()
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.close()
        if getattr(self, "_clock", None) is not None:
            registry_of(self.environment).get(SESSIONS).leave(type(self).__name__)


def _task_cycle(tasks: list[Task], agent_id: int) -> Iterator[Task]:
    """An agent's tasks, one after another, starting on a different one for each agent so a small run
    still covers every task."""
    offset = agent_id % len(tasks)
    return itertools.cycle(tasks[offset:] + tasks[:offset])


# One class per strategy, written out so that Locust (by name on the command line, --class-picker),
# IDEs and mypy see them; the registry (core.strategies) names each one, and check_registry holds
# the two to each other at import.


class HttpStatelessAgent(AgentUser):
    """POST /v1/responses, store=false: instructions, tools and the whole history every turn."""

    strategy = BY_NAME["http-stateless"]


class HttpChainedAgent(AgentUser):
    """POST /v1/responses, store=true: previous_response_id and the new tool outputs."""

    strategy = BY_NAME["http-chained"]


class HttpConversationAgent(AgentUser):
    """POST /v1/conversations at each task's start, then POST /v1/responses, store=true: the
    conversation's id and the new tool outputs (the Conversation holds the history)."""

    strategy = BY_NAME["http-conversation"]


class WsAgent(AgentUser):
    """Responses WebSocket mode, store=false: previous_response_id and the new tool outputs on one
    connection (the connection holds the state: a reconnect resends the full context)."""

    strategy = BY_NAME["ws"]


class WsStoredAgent(AgentUser):
    """Responses WebSocket mode, store=true: the same; a reconnect continues from the stored response."""

    strategy = BY_NAME["ws-stored"]


class WsMuxAgent(AgentUser):
    """Responses WebSocket mode, store=false, multiplexed: the agent and its subagents on one
    connection, a ``stream_id`` lane each (a forked subagent continues from its parent's response on
    another lane of the same connection)."""

    strategy = BY_NAME["ws-mux"]


class ChatAgent(AgentUser):
    """POST /v1/chat/completions: the whole message history every turn."""

    strategy = BY_NAME["chat"]


__all__ = [
    "AgentUser",
    "ChatAgent",
    "HttpChainedAgent",
    "HttpConversationAgent",
    "HttpStatelessAgent",
    "WsAgent",
    "WsMuxAgent",
    "WsStoredAgent",
]
USER_CLASSES: dict[str, type[AgentUser]] = {
    c.strategy.name: c
    for c in (
        HttpStatelessAgent,
        HttpChainedAgent,
        HttpConversationAgent,
        WsAgent,
        WsStoredAgent,
        WsMuxAgent,
        ChatAgent,
    )
}  # fmt: skip  (by strategy, in the registry's order)


def check_registry() -> None:
    """Every strategy has its user class here, under the name the registry gives it."""
    written = {name: cls.__name__ for name, cls in USER_CLASSES.items()}
    registry = {s.name: s.user_class for s in STRATEGIES}
    if written != registry or list(written) != list(registry):
        raise RuntimeError(f"runtime/users.py's classes {written} do not match core.strategies {registry}")


check_registry()
