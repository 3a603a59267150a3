"""``agentload demo``: the main job on the embedded default, in about three minutes.

A small sweep (agentload.sweep): every strategy, one cell each, against the embedded mock (the
realistic latency model with the openai-like server profile, docs/time-model.md), its agents behind
the broadband link, on a Locust master with local worker processes. Every modelled time runs at x0.1
(the mock's, the link's and the tools'), so a 12-turn task takes seconds and each strategy's time
keeps its shape. It ends with the comparison table and the path of the HTML report. Nothing outside
this machine is contacted; InfluxDB is not needed (it is written to when the --influx-* options are
given after `--`, or LOCUST_INFLUX_URL and friends are set).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from ..core.link import split_links
from ..core.strategies import NAMES
from .runner import run_sweep
from .spec import SweepSpec

DEMO_AGENTS = 6
DEMO_LINK = "broadband"
DEMO = SweepSpec(  # the demo's defaults: every strategy, one cell each, about three minutes in all
    strategies=list(NAMES),
    agents=[DEMO_AGENTS],
    tasks=["all"],
    models=["gpt-5.4"],
    duration_s=18.0,  # a reasoning model's task takes 7-9 s here: two tasks or more per agent
    warmup_s=3.0,
    processes=1,
)


def run_demo(
    out_dir: Path,
    agents: int,
    duration_s: float,
    warmup_s: float,
    processes: int,
    tool_latency_scale: float,
    locust_args: list[str],
    slo: str = "",
    *,
    link: str = DEMO_LINK,
    time_scale: float = DEMO.time_scale,
    server_profile: str = DEMO.server_profile,
) -> int:
    spec = replace(
        DEMO,
        agents=[agents],
        duration_s=duration_s,
        warmup_s=warmup_s,
        processes=processes,
        tool_latency_scale=tool_latency_scale,
        locust_args=locust_args,
        slo=slo,
        links=split_links(link),
        time_scale=time_scale,
        server_profile=server_profile,
    )
    spec.validate()  # (a bad option stops here, before the last demo's folder is removed)
    if out_dir.exists() and (out_dir / "sweep.json").exists():
        shutil.rmtree(out_dir)  # the demo's folder is its own: each demo starts afresh
    print(
        f"agentload demo: the embedded mock ({server_profile} server profile) + {processes} local Locust "
        f"worker(s), agents behind the {link or 'no'} link, every modelled time at x{time_scale:g}; each "
        f"strategy runs {agents} agents for {warmup_s:g} s warm-up + {duration_s:g} s; output in {out_dir}/",
        flush=True,
    )
    return run_sweep(spec, out_dir, resume=False)
