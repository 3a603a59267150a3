"""The rate-limit probe's ramp and verdicts: each step measured, the knee, the limits found, the report.

Each step holds its agent count for ``--probe-hold`` seconds; the first ``--probe-warmup`` seconds are
not measured (ramp-up, and the burst a full rate-limit bucket allows). A step is sustainable while its
429 ratio stays at or under ``--probe-max-429`` and its mean TTFT under ``--probe-max-ttft-factor``
times the first step's. The probe stops at the first step that is not. Closed loop: agents work back
to back; open loop: ``--task-rate`` paces every agent, so a step's offered rate is agents x task rate.

The limit that bound is the 429 type the stopping step met most (requests, tokens or connections); at
that step the achieved rate of that kind is the limit (a saturated token bucket passes exactly its
refill rate), reported next to the knee: the last sustainable step's agents, RPM, TPM and connections.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .chart import svg_chart
from .options import ProbeSettings
from .per_second import LIMIT_TYPES, PerSecondCounts


@dataclass
class StepResult:
    step: int
    agents: int
    seconds: int
    attempts: int
    ok_turns: int
    rpm: float
    tpm: float
    ratio_429: float
    rate_limited: dict[str, int]
    other_errors: int
    ttft_mean_ms: float | None
    connections: int
    sustainable: bool = True
    reason: str = ""


@dataclass
class ProbeState:
    settings: ProbeSettings
    started_wall: float | None = None
    results: list[StepResult] = field(default_factory=list)
    stopped: str = ""  # why the ramp ended

    def step_bounds(self, j: int) -> tuple[int, int]:
        assert self.started_wall is not None
        s = self.settings
        start = self.started_wall + j * s.hold_s + s.warmup_s
        return math.ceil(start), math.floor(self.started_wall + (j + 1) * s.hold_s)

    def evaluate(self, j: int, seconds: PerSecondCounts) -> StepResult:
        a, b = self.step_bounds(j)
        tot = seconds.total(a, b)
        secs = max(1, b - a)
        limited = {k: getattr(tot, f"rl_{k}") for k in LIMIT_TYPES}
        n429 = sum(limited.values()) + tot.rl_other
        r = StepResult(
            step=j + 1,
            agents=self.settings.steps[j],
            seconds=secs,
            attempts=tot.attempts,
            ok_turns=tot.ok,
            rpm=tot.ok * 60.0 / secs,
            tpm=tot.tokens * 60.0 / secs,
            ratio_429=n429 / tot.attempts if tot.attempts else 0.0,
            rate_limited=limited,
            other_errors=tot.other_errors,
            ttft_mean_ms=tot.ttft_sum_ms / tot.ttft_n if tot.ttft_n else None,
            connections=seconds.max_connections(a, b),
        )
        first = self.results[0].ttft_mean_ms if self.results else None
        if r.ratio_429 > self.settings.max_429:
            r.sustainable, r.reason = False, f"429 ratio {r.ratio_429:.1%} > {self.settings.max_429:.1%}"
        elif first and r.ttft_mean_ms and r.ttft_mean_ms > first * self.settings.max_ttft_factor:
            r.sustainable, r.reason = (
                False,
                f"TTFT {r.ttft_mean_ms:.0f} ms > {self.settings.max_ttft_factor:g}x step 1",
            )
        elif r.attempts == 0 and r.connections == 0:  # (agents that only hold connections are fine)
            r.sustainable, r.reason = False, "no turn completed in the step"
        self.results.append(r)
        return r

    # ------------------------------------------------------------------ the outcome
    def knee(self) -> StepResult | None:
        ok = [r for r in self.results if r.sustainable]
        return ok[-1] if ok else None

    def limits_found(self) -> dict[str, float]:
        """The limits met at the first unsustainable step, by 429 type (most refusals first), each
        with what the step achieved of it: a saturated limit passes exactly its rate."""
        bad = next((r for r in self.results if not r.sustainable), None)
        if bad is None:
            return {}
        achieved = {"requests": bad.rpm, "tokens": bad.tpm, "connections": float(bad.connections)}
        met = sorted((k for k, n in bad.rate_limited.items() if n), key=lambda k: -bad.rate_limited[k])
        return {k: achieved[k] for k in met}

    def as_dict(self) -> dict[str, Any]:
        knee = self.knee()
        return {
            "settings": {**asdict(self.settings), "out": str(self.settings.out)},
            "steps": [asdict(r) for r in self.results],
            "stopped": self.stopped,
            "knee": asdict(knee) if knee else None,
            "limits_found": self.limits_found(),
        }

    def table(self) -> str:
        rows = [
            "| step | agents | RPM | TPM | 429 ratio | 429 req/tok/conn | TTFT ms | connections | sustainable |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.results:
            rl = "/".join(str(r.rate_limited[k]) for k in LIMIT_TYPES)
            ttft = "-" if r.ttft_mean_ms is None else f"{r.ttft_mean_ms:.0f}"
            ok = "yes" if r.sustainable else f"no: {r.reason}"
            rows.append(
                f"| {r.step} | {r.agents} | {r.rpm:.0f} | {r.tpm:.0f} | {r.ratio_429:.1%} | {rl} | {ttft} | "
                f"{r.connections} | {ok} |"
            )
        return "\n".join(rows)

    def summary(self) -> str:
        knee = self.knee()
        lines = [self.table(), "", f"stopped: {self.stopped or 'all steps done'}"]
        if knee:
            lines.append(
                f"knee: {knee.agents} agents sustainable: {knee.rpm:.0f} RPM, {knee.tpm:.0f} TPM, "
                f"{knee.connections} connections"
            )
        else:
            lines.append("knee: not even the first step was sustainable")
        units = {
            "requests": "requests per minute",
            "tokens": "tokens per minute",
            "connections": "connections",
        }
        for kind, value in self.limits_found().items():
            lines.append(f"limit found: {units[kind]} ~ {value:.0f}")
        return "\n".join(lines)

    def write(self) -> Path:
        out = self.settings.out
        out.mkdir(parents=True, exist_ok=True)
        (out / "probe.json").write_text(json.dumps(self.as_dict(), indent=2))
        (out / "probe.md").write_text("# agentload probe\n\n" + self.summary() + "\n")
        (out / "probe.svg").write_text(svg_chart(self.results))
        return out
