"""The run context: what is run-wide in one Locust process's agentload, found from Locust's Environment.

There is no module-level mutable state: the run context lives in the Environment's registry
(runtime.registry). It holds the environment, this process's role, the settings, agentload's events,
the shared tool outputs, the agent ids and the run's id, and says the end-of-run lines and raises the
exit code. The settings are rebuilt whenever a test starts (a worker receives the master's options
then, and the web UI may change them between swarms). It knows none of the components: each gets what
it reads as arguments when runtime.plugin installs it.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from typing import Any

from locust.env import Environment

from ..workload import TextCache
from .events import AgentloadEvents
from .options import RunSettings
from .registry import Key, registry_of
from .role import Role, process_id, role_of


@dataclass
class RunContext:
    environment: Environment
    role: Role
    settings: RunSettings
    events: AgentloadEvents = field(default_factory=AgentloadEvents)
    tool_outputs: TextCache = field(default_factory=TextCache)  # rendered once per process, shared
    agent_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    engineer_ids: itertools.count[int] = field(default_factory=itertools.count)  # Locust users, from 0
    run_id: str = ""  # this test's name in InfluxDB (given, or made at test start)

    def say(self, text: str) -> None:
        """An end-of-run line: to stdout, or to stderr where stdout carries Locust's --json."""
        stream = sys.stderr if getattr(self.environment.parsed_options, "json", False) else sys.stdout
        print(text, file=stream, flush=True)

    def exit_with(self, code: int) -> None:
        """Raise the process's exit code to ``code`` (a later, milder finding never lowers it)."""
        env = self.environment
        env.process_exit_code = max(env.process_exit_code or 0, code)

    @property
    def runner(self) -> Any:
        """Locust's runner of this process (its role's class: see ``role``)."""
        runner = self.environment.runner
        assert runner is not None, "the run context is built at Locust's init, once there is a runner"
        return runner

    @property
    def worker_id(self) -> str:
        return process_id(self.environment.runner)

    @property
    def host(self) -> str:
        return self.environment.host or getattr(self.environment.parsed_options, "host", None) or ""


RUN_CONTEXT = Key("run context", RunContext)


def attach(environment: Environment, settings: RunSettings) -> RunContext:
    ctx = RunContext(environment, role_of(environment.runner), settings)
    return registry_of(environment).put(RUN_CONTEXT, ctx)


def context_of(environment: Environment) -> RunContext:
    registry = registry_of(environment)
    if RUN_CONTEXT not in registry:
        raise RuntimeError("agentload is not installed in this Locust process (import agentload.runtime)")
    return registry.get(RUN_CONTEXT)
