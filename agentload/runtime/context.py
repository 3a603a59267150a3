"""The run context: what one Locust process's agentload shares, hung off Locust's Environment.

There is no module-level mutable state: everything a run keeps lives here, on
``environment.agentload``. The settings are rebuilt whenever a test starts (a worker receives the
master's options then, and the web UI may change them between swarms); the components and what they
measured live as long as the process.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from locust.env import Environment

from ..workload import TextCache
from .events import AgentloadEvents
from .options import RunSettings
from .role import Role, process_id, role_of

if TYPE_CHECKING:
    from .cpu_watch import CpuWatch
    from .final_reports import FinalReports
    from .influx_output import InfluxOutput
    from .loop import Sessions
    from .records_file import RecordsFile
    from .summary import Summary


@dataclass
class RunContext:
    environment: Environment
    role: Role
    settings: RunSettings
    events: AgentloadEvents = field(default_factory=AgentloadEvents)
    tool_outputs: TextCache = field(default_factory=TextCache)  # rendered once per process, shared
    agent_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    run_id: str = ""  # this test's name in InfluxDB (given, or made at test start)
    # the runtime's components (each installed itself on these events; the others read them here)
    summary: Summary | None = None
    cpu: CpuWatch | None = None
    records: RecordsFile | None = None
    influx: InfluxOutput | None = None
    finals: FinalReports | None = None
    sessions: Sessions | None = None
    extensions: dict[str, Any] = field(default_factory=dict)  # components from outside the runtime (probe)

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


def attach(environment: Environment, settings: RunSettings) -> RunContext:
    ctx = RunContext(environment, role_of(environment.runner), settings)
    environment.agentload = ctx  # type: ignore[attr-defined]
    return ctx


def context_of(environment: Environment) -> RunContext:
    ctx = getattr(environment, "agentload", None)
    if ctx is None:
        raise RuntimeError("agentload is not installed in this Locust process (import agentload.runtime)")
    return ctx
