"""The probe's Locust load shape: the master's ramp, step by step, measured from the workers' seconds."""

from __future__ import annotations

import time
from typing import Any

from locust import LoadTestShape
from locust.runners import LocalRunner

from .errors import AgentloadError
from .probe import REPORT_LAG_S, ProbeSettings, ProbeState
from .run_context import context_of


def open_connections(environment: Any) -> int:
    """WebSocket connections this process's agents hold open right now."""
    n = 0
    runner = environment.runner
    for g in list(getattr(runner, "user_greenlets", [])):
        user = g.args[0] if g.args else None
        conn = getattr(getattr(user, "transport", None), "conn", None)
        if conn is not None and getattr(conn, "connected", False):
            n += 1
    return n


class ProbeShape(LoadTestShape):
    """Agents per step from --probe-steps; ends at the first unsustainable step (see agentload.probe)."""

    abstract = True  # concrete in agentload/probe_locustfile.py, so a plain locustfile never picks it up

    def tick(self) -> tuple[int, float] | None:
        env = self.runner.environment
        ctx = context_of(env)
        state: ProbeState | None = ctx.out.probe
        if state is None:
            try:
                state = ctx.out.probe = ProbeState(ProbeSettings.from_options(env.parsed_options))
            except AgentloadError as e:
                print(f"agentload: {e}", flush=True)
                return None
        s = state.settings
        t = self.get_run_time()
        if state.started_wall is None:
            state.started_wall = time.time() - t
        if isinstance(self.runner, LocalRunner):  # workers sample in their reports
            ctx.out.windows.sample_connections("local", int(time.time()), open_connections(env))
        # measure each finished step once its last seconds have been reported
        while len(state.results) < len(s.steps) and t >= (len(state.results) + 1) * s.hold_s + REPORT_LAG_S:
            r = state.evaluate(len(state.results), ctx.out.windows)
            if ctx.out.influx is not None:
                ctx.out.influx.probe_step(
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
