"""The probe's options: one field table, the checked settings made of it, and (at import) their place
on Locust's parser and their check at start.

Import this module before agentload.runtime (the probe's locustfile does): the probe's settings are
then checked at Locust's init before the runtime's start-up check talks to --host, so a bad
--probe-steps stops the run with one line before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from ..core.errors import AgentloadError, stop_at_start
from ..core.fields import add_arguments, opt, read_options
from ..core.paths import check_output_folder

GROUP = "agentload probe (agentload probe, or the packaged probe locustfile)"


@dataclass(frozen=True)
class ProbeOptions:
    probe_steps: str = opt("1,2,4,8,16,32,64", "agents at each step, comma-separated")
    probe_hold: float = opt(30.0, "seconds per step", above=0)
    probe_warmup: float = opt(10.0, "seconds at the start of each step that are not measured", minimum=0)
    probe_max_429: float = opt(
        0.05, "highest sustainable 429 ratio (429 answers / attempts)", minimum=0, maximum=0.999999
    )
    probe_max_ttft_factor: float = opt(
        3.0, "highest sustainable mean TTFT, as a multiple of the first step's", above=1
    )
    probe_out: str = opt("runs/probe", "folder for probe.json, probe.md, probe.svg")
    probe_spawn_rate: float = opt(
        100.0,
        "agents started per second when a step begins (lower it so new agents' first requests do not "
        "burst into the requests limit)",
        above=0,
    )


def add_probe_options(parser: Any) -> None:
    add_arguments(parser, ProbeOptions, title=GROUP, locust=True)


@dataclass(frozen=True)
class ProbeSettings:
    steps: tuple[int, ...]
    hold_s: float
    warmup_s: float
    max_429: float
    max_ttft_factor: float
    out: Path
    spawn_rate: float = 100.0

    @classmethod
    def from_options(cls, namespace: Any) -> ProbeSettings:
        o = read_options(ProbeOptions, namespace)
        raw = o.probe_steps
        try:
            steps = tuple(int(x) for x in raw.split(",") if x.strip())
        except ValueError:
            raise AgentloadError(
                f"--probe-steps: {raw!r} is not a list of agent counts (e.g. 2,4,8,16)"
            ) from None
        if not steps or any(s < 1 for s in steps):
            raise AgentloadError(f"--probe-steps: {raw!r}: give agent counts of 1 or more (e.g. 2,4,8,16)")
        check_output_folder("--probe-out", o.probe_out)
        if o.probe_hold - o.probe_warmup < 2:
            raise AgentloadError("--probe-hold: must exceed --probe-warmup by 2 seconds or more")
        return cls(
            steps, o.probe_hold, o.probe_warmup, o.probe_max_429, o.probe_max_ttft_factor,
            Path(o.probe_out), o.probe_spawn_rate,
        )  # fmt: skip


def _on_parser(parser: Any) -> None:
    add_probe_options(parser)


events.init_command_line_parser.add_listener(_on_parser)


def _check_at_start(environment: Any, runner: Any = None, **_kw: Any) -> None:
    if isinstance(runner, WorkerRunner):  # a worker's options come from its master
        return
    try:
        ProbeSettings.from_options(environment.parsed_options)
    except AgentloadError as e:
        stop_at_start(str(e))


events.init.add_listener(_check_at_start)
