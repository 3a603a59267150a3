"""``agentload demo``: the main job on the embedded default, in about two minutes.

A small sweep (agentload.sweep): every strategy, one cell each, against the embedded mock (realistic
latency model, sped up so a 10-turn task takes seconds), on a Locust master with local worker
processes. It ends with the comparison table and the path of the HTML report. Nothing outside this
machine is contacted; InfluxDB is not needed (it is written to when the --influx-* options are given
after `--`, or LOCUST_INFLUX_URL and friends are set).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from ..core.strategies import NAMES
from .runner import run_sweep
from .spec import SweepSpec

DEMO_AGENTS = 6
DEMO = SweepSpec(  # the demo's defaults: every strategy, one cell each, about two minutes in all
    strategies=list(NAMES),
    agents=[DEMO_AGENTS],
    tasks=["all"],
    models=["gpt-5.4"],
    duration_s=18.0,  # a reasoning model's task takes about 8 s here: two tasks or more per agent
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
) -> int:
    if out_dir.exists() and (out_dir / "sweep.json").exists():
        shutil.rmtree(out_dir)  # the demo's folder is its own: each demo starts afresh
    spec = replace(
        DEMO,
        agents=[agents],
        duration_s=duration_s,
        warmup_s=warmup_s,
        processes=processes,
        tool_latency_scale=tool_latency_scale,
        locust_args=locust_args,
        slo=slo,
    )
    print(
        f"agentload demo: the embedded mock + {processes} local Locust worker(s); each strategy runs "
        f"{agents} agents for {warmup_s:g} s warm-up + {duration_s:g} s; output in {out_dir}/",
        flush=True,
    )
    return run_sweep(spec, out_dir, resume=False)
