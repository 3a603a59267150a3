"""AgentUser: the Locust user behind every strategy's thin class in users/.

One user = one agent = one connection (HTTP keep-alive or WebSocket), working through the selected
tasks one after another, like a developer's agent process. Its client fires Locust's request events
through the run context (``agentload.locust_plugin``).
"""

from __future__ import annotations

import itertools
import random
from typing import ClassVar

import gevent
from locust import User, constant_throughput, task

from .agent import Agent
from .run_context import context_of
from .transports import Transport, api_base


class AgentUser(User):
    abstract = True
    strategy_name: ClassVar[str] = ""

    def wait_time(self) -> float:
        """Closed loop (back to back) unless --task-rate paces each agent (open loop)."""
        rate = context_of(self.environment).task_rate
        return constant_throughput(rate)(self) if rate > 0 else 0.0

    def on_start(self) -> None:
        ctx = context_of(self.environment)
        settings = ctx.settings(self.strategy_name)
        host = self.host or self.environment.host or ""
        self.transport: Transport = settings.strategy.make_transport(
            api_base(host), ctx.headers(), ctx.timeouts, ctx.uplink_kbps
        )
        agent_id = next(ctx.out.agent_ids)
        self.agent = Agent(
            settings, self.transport, agent_id, ctx.on_turn, ctx.on_task, on_attempt=ctx.on_attempt
        )
        # start each agent on a different task so a small run still covers every task
        offset = agent_id % len(ctx.tasks)
        self._tasks = itertools.cycle(ctx.tasks[offset:] + ctx.tasks[:offset])
        if ctx.start_jitter > 0:
            gevent.sleep(random.uniform(0.0, ctx.start_jitter))

    @task
    def work_one_task(self) -> None:
        self.agent.run_task(next(self._tasks))

    def on_stop(self) -> None:
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.close()
