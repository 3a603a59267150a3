"""The Locust users: one agent each, one class per strategy (their names come from the registry).

One user = one agent = one connection (HTTP keep-alive or WebSocket), working through the selected
tasks one after another, like a developer's agent process. Its agent hands every record to the run's
components through the run context's events.
"""

from __future__ import annotations

import itertools
import random
from typing import ClassVar

import gevent
from locust import User, constant_throughput, task

from ..client import Agent, Transport, api_base, make_transport
from ..client.backoff import TaskBackoff
from ..core.records import ErrorKind
from ..core.strategies import STRATEGIES, Strategy
from .context import context_of
from .options import request_headers


class AgentUser(User):
    abstract = True
    strategy: ClassVar[Strategy]

    def wait_time(self) -> float:
        """Closed loop (back to back) unless --task-rate paces each agent (open loop)."""
        rate = context_of(self.environment).settings.options.task_rate
        return constant_throughput(rate)(self) if rate > 0 else 0.0

    def on_start(self) -> None:
        ctx = context_of(self.environment)
        settings = ctx.settings
        host = self.host or self.environment.host or ""
        self.transport: Transport = make_transport(
            self.strategy, api_base(host), request_headers(), settings.timeouts, settings.options.uplink_kbps
        )
        agent_id = next(ctx.agent_ids)
        events = ctx.events
        self.agent = Agent(
            settings.agent(self.strategy, ctx.tool_outputs),
            self.transport,
            agent_id,
            on_turn=lambda rec, outcome: events.turn.fire(record=rec, outcome=outcome),
            on_task=lambda rec: events.task.fire(record=rec),
            on_attempt=lambda strategy: events.attempt.fire(strategy=strategy),
        )
        # start each agent on a different task so a small run still covers every task
        tasks = list(settings.tasks)
        offset = agent_id % len(tasks)
        self._tasks = itertools.cycle(tasks[offset:] + tasks[:offset])
        self._backoff = TaskBackoff()
        if settings.options.start_jitter > 0:
            gevent.sleep(random.uniform(0.0, settings.options.start_jitter))

    @task
    def work_one_task(self) -> None:
        rec = self.agent.run_task(next(self._tasks))
        wait = self._backoff.after(rec.ok, rec.error_kind == ErrorKind.INTERRUPTED)
        if wait > 0:
            gevent.sleep(wait)

    def on_stop(self) -> None:
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.close()


def _user_class(strategy: Strategy) -> type[AgentUser]:
    doc = f"The {strategy.name} strategy: {strategy.summary}."
    return type(
        strategy.user_class, (AgentUser,), {"strategy": strategy, "__doc__": doc, "__module__": __name__}
    )


USER_CLASSES: dict[str, type[AgentUser]] = {s.name: _user_class(s) for s in STRATEGIES}  # by strategy
