"""The rate-limit probe's ramp and verdicts: each step measured, the knee, the limits found, the report.

Each step holds its agent count for ``--probe-hold`` seconds; the first ``--probe-warmup`` seconds are
not measured (ramp-up, and the burst a full rate-limit bucket allows). A step is sustainable while its
429 ratio stays at or under ``--probe-max-429`` and its mean TTFT under ``--probe-max-ttft-factor``
times the first step's. The probe stops at the first step that is not. Closed loop: agents work back
to back; open loop: ``--task-rate`` paces every agent, so a step's offered rate is agents x task rate.

The limit that bound is the 429 type the stopping step met most (requests, tokens or connections); at
that step the achieved rate of that kind is the limit (a saturated token bucket passes exactly its
refill rate), reported next to the knee: the last sustainable step's agents, RPM, TPM and connections.

That holds only while the generator keeps asking. A generator whose event loop stalls (a CPU-starved
or paused worker) leaves the limiter refilling with nobody asking: what it cannot hold is lost, and
the step achieves less than the limit (the token probe of tests/e2e/test_rate_limits.py, against
200,000 TPM, read 160,867 with its process paused 2 s in the 9 s window). So each step also says
how long the generator's loops stalled in its window (per_second's LoopWatch); a step stalled beyond
MAX_STALLED_FRACTION measured the generator, not the target: the ramp stops there, no knee is taken
from it and no limit is reported found; what it met is reported as a lower bound, with the stall, and
the advice to give the generator more CPU.
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

# a step whose generator stalled longer than this share of its measured window measured the generator
MAX_STALLED_FRACTION = 0.05
UNITS = {"requests": "requests per minute", "tokens": "tokens per minute", "connections": "connections"}


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
    # the generator's event loops in the measured window: seconds stalled (summed over the processes
    # that run agents), that as a share of the seconds watched, and the longest single stall
    generator_stalled_s: float = 0.0
    generator_stalled_fraction: float = 0.0
    generator_stall_max_s: float = 0.0
    generator_bound: bool = False  # stalled past MAX_STALLED_FRACTION: the step measured the generator
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
            generator_stalled_s=tot.stalled_s,
            generator_stalled_fraction=tot.stalled_s / tot.watched_s if tot.watched_s else 0.0,
            generator_stall_max_s=tot.stall_max_s,
        )
        first = self.results[0].ttft_mean_ms if self.results else None
        # the generator first: a step it could not drive measured it, whatever else its figures say
        if r.generator_stalled_fraction > MAX_STALLED_FRACTION:
            r.sustainable, r.generator_bound = False, True
            r.reason = (
                f"the generator fell behind: its event loop stalled {r.generator_stalled_fraction:.0%} of "
                f"the {secs} s measured (longest {r.generator_stall_max_s:.1f} s)"
            )
        elif r.ratio_429 > self.settings.max_429:
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

    def _stopping_step(self) -> StepResult | None:
        return next((r for r in self.results if not r.sustainable), None)

    @staticmethod
    def _met(step: StepResult) -> dict[str, float]:
        """The limits a step met, by 429 type (most refusals first), each with what it achieved of it."""
        achieved = {"requests": step.rpm, "tokens": step.tpm, "connections": float(step.connections)}
        met = sorted((k for k, n in step.rate_limited.items() if n), key=lambda k: -step.rate_limited[k])
        return {k: achieved[k] for k in met}

    def limits_found(self) -> dict[str, float]:
        """The limits met at the first unsustainable step, by 429 type (most refusals first), each
        with what the step achieved of it: a saturated limit passes exactly its rate. None when the
        generator fell behind in that step (see lower_bounds)."""
        bad = self._stopping_step()
        return self._met(bad) if bad is not None and not bad.generator_bound else {}

    def lower_bounds(self) -> dict[str, float]:
        """What a step the generator could not drive met (its limits, each with what it achieved): the
        limit is at least that, and it may be more (the generator's stalls left it unused)."""
        bad = self._stopping_step()
        return self._met(bad) if bad is not None and bad.generator_bound else {}

    def as_dict(self) -> dict[str, Any]:
        knee = self.knee()
        return {
            "settings": {**asdict(self.settings), "out": str(self.settings.out)},
            "steps": [asdict(r) for r in self.results],
            "stopped": self.stopped,
            "knee": asdict(knee) if knee else None,
            "limits_found": self.limits_found(),
            "generator_bound": any(r.generator_bound for r in self.results),
            "lower_bounds": self.lower_bounds(),
        }

    def table(self) -> str:
        rows = [
            "| step | agents | RPM | TPM | 429 ratio | 429 req/tok/conn | TTFT ms | connections | generator stalled "
            "| sustainable |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.results:
            rl = "/".join(str(r.rate_limited[k]) for k in LIMIT_TYPES)
            ttft = "-" if r.ttft_mean_ms is None else f"{r.ttft_mean_ms:.0f}"
            ok = "yes" if r.sustainable else f"no: {r.reason}"
            rows.append(
                f"| {r.step} | {r.agents} | {r.rpm:.0f} | {r.tpm:.0f} | {r.ratio_429:.1%} | {rl} | {ttft} | "
                f"{r.connections} | {r.generator_stalled_fraction:.0%} | {ok} |"
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
        for kind, value in self.limits_found().items():
            lines.append(f"limit found: {UNITS[kind]} ~ {value:.0f}")
        bad = self._stopping_step()
        if bad is not None and bad.generator_bound:
            lines.append(
                f"limit not measured: at step {bad.step} ({bad.agents} agents) {bad.reason}, so what it "
                "achieved is the generator's shortfall, not the target's limit; give the generator more "
                "CPU (more workers, fewer agents each, a quieter machine) and probe again"
            )
            for kind, value in self.lower_bounds().items():
                lines.append(f"lower bound: {UNITS[kind]} >= {value:.0f} (met while the generator stalled)")
        return "\n".join(lines)

    def write(self) -> Path:
        out = self.settings.out
        out.mkdir(parents=True, exist_ok=True)
        (out / "probe.json").write_text(json.dumps(self.as_dict(), indent=2))
        (out / "probe.md").write_text("# agentload probe\n\n" + self.summary() + "\n")
        (out / "probe.svg").write_text(svg_chart(self.results))
        return out
