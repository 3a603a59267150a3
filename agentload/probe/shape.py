"""The probe in Locust: its options, its per-second counters on every process, and the master's ramp.

Importing this module (the probe's locustfile does, after probe.options) installs the probe the way
the runtime's components install themselves, at init, given what it reads (the run context and the
InfluxDB output, found in the Environment's registry that runtime.plugin's init filled): every turn
goes into per-second counts, workers send their counts (and their open WebSocket connections) with
their reports, the master merges them, and the load shape (which has only the Environment) finds the
probe under ``PROBE`` and measures each step from it. Every process that runs agents also watches its
own event loop for stalls (per_second.LoopWatch), so that a step the generator could not drive is not
taken for the target's limit. At the end the master writes the probe's report.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from locust import LoadTestShape, events
from locust.env import Environment

from ..core.errors import AgentloadError
from ..launch.locust import REPORT_LAG_S
from ..runtime import plugin  # noqa: F401  (the runtime's listeners first: the probe's build on them)
from ..runtime.context import RunContext, context_of
from ..runtime.influx_output import INFLUX, InfluxOutput
from ..runtime.registry import Key, registry_of
from ..runtime.role import Role
from .options import ProbeSettings
from .per_second import LoopWatch, PerSecondCounts
from .state import ProbeState

REPORT_KEY = "agentload_seconds"


class ProbeComponent:
    """The probe in one process: its per-second counts, and on the master (or a standalone run) the
    ramp's state; each step's point goes to InfluxDB through ``influx``."""

    def __init__(self, ctx: RunContext, influx: InfluxOutput) -> None:
        self.ctx = ctx
        self.influx = influx
        self.seconds = PerSecondCounts()
        self.state: ProbeState | None = None  # the master's (or a standalone run's) ramp
        self.loop_watch: LoopWatch | None = None  # where agents run: their event loop's stalls

    def open_connections(self) -> int:
        """WebSocket connections this process's agents hold open right now."""
        runner = self.ctx.environment.runner
        n = 0
        for g in list(getattr(runner, "user_greenlets", [])):
            user = g.args[0] if g.args else None
            transport = getattr(user, "transport", None)
            if transport is not None and transport.is_open:
                n += 1
        return n

    def sample(self, source: str) -> None:
        self.seconds.sample_connections(source, int(time.time()), self.open_connections())

    def report(self, data: dict[str, Any]) -> None:
        self.sample(self.ctx.worker_id)
        data[REPORT_KEY] = self.seconds.take()

    def merge(self, worker: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            self.seconds.merge(data[REPORT_KEY])

    def finish(self) -> None:
        if self.state is not None and self.state.results:
            folder = self.state.write()
            self.ctx.say(f"\nagentload probe ({folder}/probe.md, probe.json, probe.svg)\n")
            self.ctx.say(self.state.summary())


PROBE = Key("rate-limit probe", ProbeComponent)


def install(ctx: RunContext, influx: InfluxOutput) -> ProbeComponent:
    probe = ProbeComponent(ctx, influx)
    if ctx.role.reports:  # checked at start already (probe.options)
        probe.state = ProbeState(ProbeSettings.from_options(ctx.environment.parsed_options))
    ctx.events.turn.add_listener(lambda record, outcome: probe.seconds.add_turn(record))
    if ctx.role.runs_agents:
        probe.loop_watch = LoopWatch(probe.seconds).start()
    ctx.events.report.add_listener(probe.report)
    ctx.events.merge.add_listener(probe.merge)
    if ctx.role.reports:
        ctx.events.finish.add_listener(probe.finish)
    return probe


def probe_of(environment: Environment) -> ProbeComponent:
    return registry_of(environment).get(PROBE)


def _on_init(environment: Environment, **_kw: Any) -> None:
    """The probe's wiring: agentload.runtime's init listener ran first (it was imported first), so
    the run context and the InfluxDB output are in the registry."""
    found = registry_of(environment)
    found.put(PROBE, install(context_of(environment), found.get(INFLUX)))


events.init.add_listener(_on_init)


class ProbeShape(LoadTestShape):
    """Agents per step from --probe-steps; ends at the first unsustainable step (see probe.state)."""

    abstract = True  # concrete in the probe's locustfile, so a plain locustfile never picks it up

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        env = self.runner.environment
        probe = probe_of(env)
        state = probe.state
        if state is None:  # the options changed since start (the web UI): read them again
            try:
                state = probe.state = ProbeState(ProbeSettings.from_options(env.parsed_options))
            except AgentloadError as e:
                print(f"agentload: {e}", file=sys.stderr, flush=True)
                return None
        s = state.settings
        t = self.get_run_time()
        if state.started_wall is None:
            state.started_wall = time.time() - t
        if probe.ctx.role == Role.LOCAL:  # workers sample in their reports
            probe.sample("local")
        # measure each finished step once its last seconds have been reported
        while len(state.results) < len(s.steps) and t >= (len(state.results) + 1) * s.hold_s + REPORT_LAG_S:
            r = state.evaluate(len(state.results), probe.seconds)
            sink = probe.influx.sink
            if sink is not None:
                sink.probe_step(
                    r.step,
                    {
                        "agents": r.agents,
                        "rpm": r.rpm,
                        "tpm": r.tpm,
                        "ratio_429": r.ratio_429,
                        "ttft_mean_ms": r.ttft_mean_ms,
                        "connections": r.connections,
                        "sustainable": int(r.sustainable),
                        **{f"rate_limited_{k}": v for k, v in r.rate_limited.items()},
                    },
                )
            if not r.sustainable:
                state.stopped = f"step {r.step} ({r.agents} agents): {r.reason}"
                return None
        k = int(t // s.hold_s)
        if k >= len(s.steps):
            if len(state.results) >= len(s.steps):
                return None
            k = len(s.steps) - 1  # hold the last step until it is measured
        return s.steps[k], s.spawn_rate
