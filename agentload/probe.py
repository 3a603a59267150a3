"""The rate-limit probe: ramp agents in steps, measure each step, stop at the knee, report the limits.

It is a Locust load shape (``agentload/probe_locustfile.py``), so it runs standalone or distributed:
the master drives the ramp and measures each step from the per-second counters every worker reports
(agentload.windows). Each step holds its agent count for ``--probe-hold`` seconds; the first
``--probe-warmup`` seconds are not measured (ramp-up, and the burst a full rate-limit bucket allows).
A step is sustainable while its 429 ratio stays at or under ``--probe-max-429`` and its mean TTFT
under ``--probe-max-ttft-factor`` times the first step's. The probe stops at the first step that is
not. Closed loop: agents work back to back; open loop: ``--task-rate`` paces every agent, so a step's
offered rate is agents x task rate.

The limit that bound is the 429 type the stopping step met most (requests, tokens or connections); at
that step the achieved rate of that kind is the limit (a saturated token bucket passes exactly its
refill rate), reported next to the knee: the last sustainable step's agents, RPM, TPM and connections.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import AgentloadError
from .windows import LIMIT_TYPES, SecondWindows

log = logging.getLogger("agentload")
REPORT_LAG_S = 4.0  # Locust workers report every 3 s: a step is measured this long after it ends
DEFAULTS = {
    "probe_steps": "1,2,4,8,16,32,64",
    "probe_hold": 30.0,
    "probe_warmup": 10.0,
    "probe_max_429": 0.05,
    "probe_max_ttft_factor": 3.0,
    "probe_out": "runs/probe",
    "probe_spawn_rate": 100.0,
}


def add_probe_options(parser: Any) -> None:
    g = parser.add_argument_group("agentload probe (with agentload/probe_locustfile.py)")
    g.add_argument(
        "--probe-steps", default=DEFAULTS["probe_steps"], help="agents at each step, comma-separated"
    )
    g.add_argument("--probe-hold", type=float, default=DEFAULTS["probe_hold"], help="seconds per step")
    g.add_argument(
        "--probe-warmup",
        type=float,
        default=DEFAULTS["probe_warmup"],
        help="seconds at the start of each step that are not measured",
    )
    g.add_argument(
        "--probe-max-429",
        type=float,
        default=DEFAULTS["probe_max_429"],
        help="highest sustainable 429 ratio (429 answers / attempts)",
    )
    g.add_argument(
        "--probe-max-ttft-factor",
        type=float,
        default=DEFAULTS["probe_max_ttft_factor"],
        help="highest sustainable mean TTFT, as a multiple of the first step's",
    )
    g.add_argument(
        "--probe-out", default=DEFAULTS["probe_out"], help="folder for probe.json, probe.md, probe.svg"
    )
    g.add_argument(
        "--probe-spawn-rate",
        type=float,
        default=DEFAULTS["probe_spawn_rate"],
        help="agents started per second when a step begins (lower it so new agents' first requests "
        "do not burst into the requests limit)",
    )


@dataclass(frozen=True)
class ProbeSettings:
    steps: tuple[int, ...]
    hold_s: float
    warmup_s: float
    max_429: float
    max_ttft_factor: float
    out: Path
    spawn_rate: float = DEFAULTS["probe_spawn_rate"]

    @classmethod
    def from_options(cls, o: Any) -> ProbeSettings:
        raw = str(getattr(o, "probe_steps", DEFAULTS["probe_steps"]))
        try:
            steps = tuple(int(x) for x in raw.split(",") if x.strip())
        except ValueError:
            raise AgentloadError(
                f"--probe-steps: {raw!r} is not a list of agent counts (e.g. 2,4,8,16)"
            ) from None
        if not steps or any(s < 1 for s in steps):
            raise AgentloadError(f"--probe-steps: {raw!r}: give agent counts of 1 or more (e.g. 2,4,8,16)")
        hold = float(getattr(o, "probe_hold", DEFAULTS["probe_hold"]))
        warmup = float(getattr(o, "probe_warmup", DEFAULTS["probe_warmup"]))
        if warmup < 0 or hold - warmup < 2:
            raise AgentloadError("--probe-hold: must exceed --probe-warmup by 2 seconds or more")
        max_429 = float(getattr(o, "probe_max_429", DEFAULTS["probe_max_429"]))
        if not 0 <= max_429 < 1:
            raise AgentloadError("--probe-max-429: a ratio from 0 to below 1 (e.g. 0.05)")
        factor = float(getattr(o, "probe_max_ttft_factor", DEFAULTS["probe_max_ttft_factor"]))
        if factor <= 1:
            raise AgentloadError("--probe-max-ttft-factor: must be more than 1 (e.g. 3)")
        spawn = float(getattr(o, "probe_spawn_rate", DEFAULTS["probe_spawn_rate"]))
        if spawn <= 0:
            raise AgentloadError("--probe-spawn-rate: must be more than 0 agents per second")
        out = Path(getattr(o, "probe_out", DEFAULTS["probe_out"]))
        return cls(steps, hold, warmup, max_429, factor, out, spawn)


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

    def evaluate(self, j: int, windows: SecondWindows) -> StepResult:
        a, b = self.step_bounds(j)
        tot = windows.total(a, b)
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
            connections=windows.max_connections(a, b),
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


def svg_chart(results: list[StepResult], width: int = 720, height: int = 360) -> str:
    """Achieved RPM and TPM (each scaled to its own maximum) and the 429 ratio, by agents per step."""
    pad = 50
    w, h = width - 2 * pad, height - 2 * pad
    n = max(1, len(results) - 1)

    def path(values: list[float], top: float) -> str:
        pts = [
            f"{pad + i * w / n:.1f},{pad + h - (v / top if top else 0) * h:.1f}" for i, v in enumerate(values)
        ]
        return " ".join(pts)

    series = [
        ("RPM", [r.rpm for r in results], "#1f77b4"),
        ("TPM", [r.tpm for r in results], "#2ca02c"),
        ("429 ratio", [r.ratio_429 for r in results], "#d62728"),
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect x="{pad}" y="{pad}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
        f'<text x="{pad}" y="{pad - 20}">agentload probe: achieved rate per step (each line scaled to its max)</text>',
    ]
    for i, r in enumerate(results):
        x = pad + i * w / n
        parts.append(f'<text x="{x:.1f}" y="{pad + h + 18}" text-anchor="middle">{r.agents}</text>')
    parts.append(f'<text x="{pad + w / 2}" y="{height - 8}" text-anchor="middle">agents</text>')
    for k, (name, values, colour) in enumerate(series):
        top = max(values, default=0.0)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path(values, top)}"/>'
        )
        parts.append(
            f'<text x="{pad + 10 + k * 200}" y="{pad + 16}" fill="{colour}">{name} (max {top:.3g})</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
