"""``agentload sweep``, ``agentload report`` and ``agentload demo``: their parsers and what they run."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.argparsing import Parser
from ..core.errors import AgentloadError
from ..core.link import PROFILES as LINK_PROFILES
from ..core.link import split_links, uplink_text
from ..core.paths import check_output_folder
from ..core.strategies import BASELINE, NAMES
from ..metrics.slo import parse_slo
from ..runtime.options import MAX_AGENTS_PER_USER
from . import calibrate
from .demo import DEMO, DEMO_AGENTS, DEMO_LINK, run_demo
from .report import DEFAULT_PROJECTION_AGENTS, write_report
from .runner import report_objectives, run_sweep
from .spec import (
    DEFAULT_SERVER_PROFILE,
    DEFAULT_TIME_SCALE,
    NONE,
    SERVER_PROFILE_NAMES,
    SweepSpec,
    parse_list,
)
from .store import RunStore

DEFAULT_MODEL = "gpt-5.4"


def _add_cell_options(p: argparse.ArgumentParser, duration: float, warmup: float, processes: int) -> None:
    """What every sweep cell runs with (the sweep and the demo, with their own defaults)."""
    p.add_argument(
        "--duration", type=float, default=duration, help=f"measured seconds per cell (default {duration:g})"
    )
    p.add_argument(
        "--warmup", type=float, default=warmup, help=f"seconds per cell not measured (default {warmup:g})"
    )
    p.add_argument(
        "--processes",
        type=int,
        default=processes,
        help=f"local Locust worker processes (default {processes})",
    )
    scale = SweepSpec.tool_latency_scale
    p.add_argument(
        "--tool-latency-scale",
        type=float,
        default=scale,
        help=f"scale of simulated tool latency (default {scale:g})",
    )
    p.add_argument(
        "--slo",
        default="",
        help="objectives METRIC=LIMIT,... (e.g. ttft_p99_ms=2000,task_s_p90=60), each checked per strategy "
        "and per cell; goodput counts the tasks that met them all; exit code 1 when one fails",
    )
    p.add_argument(
        "--server-profile",
        default=DEFAULT_SERVER_PROFILE,
        help="the embedded mock's server profile: its work per request before the model starts "
        f"({', '.join(SERVER_PROFILE_NAMES)}; default {DEFAULT_SERVER_PROFILE}, fitted by agentload calibrate)",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="the embedded mock's modelled time (latency model and server profile) and the links' round trips "
        f"and rates, x this (default {DEFAULT_TIME_SCALE:g}: ten times faster, the shape kept, as the tools' "
        "--tool-latency-scale; 1 = real time); against --host the links run in real time",
    )
    p.add_argument("locust_args", nargs="*", help="after --: Locust/agentload options for every cell")


def add_parsers(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "demo",
        help="a small sweep of every strategy against the embedded mock: the table and the HTML report",
        description="The main job on the embedded default: mock server + local Locust workers, one sweep cell "
        "per strategy, then the comparison table and report.html. Options for every cell follow `--`.",
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    p.add_argument(
        "--agents", type=int, default=DEMO_AGENTS, help=f"agents per strategy (default {DEMO_AGENTS})"
    )
    p.add_argument(
        "--link",
        default=DEMO_LINK,
        help=f"the agents' link: a profile ({', '.join(LINK_PROFILES)}), figures (rtt=40ms,up=20mbit,"
        f"down=100mbit) or none (default {DEMO_LINK}; docs/time-model.md)",
    )
    _add_cell_options(p, DEMO.duration_s, DEMO.warmup_s, DEMO.processes)
    p.set_defaults(run=_demo)

    p = sub.add_parser(
        "sweep",
        help="run a matrix of cells (strategy x agents x task x model x link) and write the report",
        description="Each cell is one Locust run (master + local workers) against --host or the embedded "
        "mock. Cells are recorded as they finish (cells.jsonl, cells.csv); --resume runs the missing ones. "
        "Locust options for every cell follow `--`, e.g. -- --on-429 retry.",
    )
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/sweep-TIMESTAMP)")
    p.add_argument("--strategies", default="all", help="comma-separated strategies (default all)")
    p.add_argument(
        "--agents",
        default="4",
        help="agent counts, comma-separated (default 4); with --agents-per-user, engineers (Locust users)",
    )
    p.add_argument(
        "--agents-per-user",
        default="1",
        help="agents each engineer (Locust user) runs at once, comma-separated, a cell each (e.g. 1,4,8; on "
        f"ws-mux an engineer's agents share one WebSocket; default 1, at most {MAX_AGENTS_PER_USER})",
    )
    p.add_argument(
        "--subagents",
        default=NONE,
        help="subagent variants, comma-separated, a cell each: none (the --task list), forks or fresh (the "
        "built-in fan-out-forks or fan-out-fresh: a lead agent spawning three subagents) (default none)",
    )
    p.add_argument(
        "--task", default="all", help="tasks, comma-separated names or files; 'all' = the built-ins cycled"
    )
    p.add_argument(
        "--models", default=DEFAULT_MODEL, help=f"models, comma-separated (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--link",
        default=None,
        help="the agents' links, one cell each: profiles (datacenter,broadband,mobile), figures "
        "(rtt=40ms,up=20mbit,down=100mbit) or none; several specs with figures are separated by ';' "
        "(e.g. 'none;broadband;rtt=80ms,up=1mbit') (default none: loopback as it is)",
    )
    p.add_argument(
        "--uplink-kbps",
        default=None,
        help="(older) uplink rates in kbit/s, comma-separated (0 = not shaped): each the link up=RATE",
    )
    p.add_argument(
        "--compression",
        default="off",
        help="what the agents compress, comma-separated variants: off, or deflate (WebSocket frames), gzip "
        "or zstd (HTTP request bodies), gzip-replies or zstd-replies (HTTP replies) joined by +, e.g. "
        "off,deflate+gzip (default off)",
    )
    p.add_argument(
        "--tasks",
        type=int,
        default=0,
        help="end a cell once this many tasks started after the warm-up finished",
    )
    p.add_argument("--host", default="", help="the API to load (default: the embedded mock)")
    p.add_argument(
        "--max-connections",
        type=int,
        default=0,
        help="the embedded mock's concurrent WebSocket connections per API key, as OpenAI limits them "
        "(default 0: no limit); e.g. 4 to see ws meet connection 429s where ws-mux holds one",
    )
    p.add_argument(
        "--baseline",
        default="",
        help=f"the strategy the report's changes are against (default {BASELINE} when it runs, else the "
        "first of --strategies)",
    )
    p.add_argument("--resume", action="store_true", help="finish the sweep in --out: run only missing cells")
    p.add_argument(
        "--master-url",
        default="",
        help="drive a running Locust master (its web UI, e.g. http://master:8089; started with this "
        "locustfile and --class-picker) instead of starting one per cell; its workers run the agents",
    )
    _add_cell_options(p, SweepSpec.duration_s, SweepSpec.warmup_s, SweepSpec.processes)
    p.set_defaults(run=_sweep)

    p = sub.add_parser(
        "report",
        help="write the HTML/Markdown/JSON report of a sweep folder",
        description="Reads RUN_DIR/cells.jsonl and writes report.html (self-contained), report.md, report.json.",
    )
    p.add_argument("run_dir", type=Path)
    p.add_argument(
        "--slo",
        default=None,
        help="objectives to check instead of the sweep's own (METRIC=LIMIT,...); exit code 1 when one fails",
    )
    p.add_argument(
        "--projection-agents",
        type=int,
        default=DEFAULT_PROJECTION_AGENTS,
        help=f"concurrent agents for the bandwidth projection (default {DEFAULT_PROJECTION_AGENTS:,})",
    )
    p.add_argument(
        "--baseline",
        default=None,
        help=f"the strategy the changes are against (default the sweep's: {BASELINE} when it ran, else "
        "its first strategy; e.g. http-chained: how much faster ws is than previous_response_id over HTTP)",
    )
    p.set_defaults(run=_report)

    calibrate.add_parser(sub)


def _demo(a: argparse.Namespace) -> int:
    if a.agents < 1 or a.processes < 1 or a.tool_latency_scale < 0:
        raise AgentloadError(
            "demo: --agents must be 1 or more, --processes 1 or more, --tool-latency-scale 0 or more"
        )
    check_output_folder("--out", a.out)
    return _interruptible(
        lambda: run_demo(
            a.out,
            a.agents,
            a.duration,
            a.warmup,
            a.processes,
            a.tool_latency_scale,
            a.locust_args or [],
            a.slo,
            link=a.link,
            time_scale=a.time_scale,
            server_profile=a.server_profile,
        )
    )


def _sweep(a: argparse.Namespace) -> int:
    out = a.out or Path("runs") / time.strftime("sweep-%Y%m%d-%H%M%S")
    spec = SweepSpec(
        strategies=parse_list("--strategies", a.strategies) if a.strategies != "all" else list(NAMES),
        agents=parse_list("--agents", a.agents, int),
        tasks=parse_list("--task", a.task),
        models=parse_list("--models", a.models),
        links=sweep_links(a.link, a.uplink_kbps),
        compressions=parse_list("--compression", a.compression),
        agents_per_user=parse_list("--agents-per-user", a.agents_per_user, int),
        subagents=parse_list("--subagents", a.subagents),
        duration_s=a.duration,
        task_target=a.tasks,
        warmup_s=a.warmup,
        processes=a.processes,
        host=a.host or "",
        tool_latency_scale=a.tool_latency_scale,
        locust_args=a.locust_args or [],
        master_url=a.master_url or "",
        slo=a.slo or "",
        time_scale=a.time_scale,
        server_profile=a.server_profile,
        max_connections=a.max_connections,
        baseline=a.baseline,
    )
    check_output_folder("--out", out)
    if spec.master_url and (spec.locust_args or spec.task_target or spec.agents_per_user != [1]):
        raise AgentloadError(
            "--master-url: the master's own options apply; -- options, --tasks and --agents-per-user need "
            "local cells"
        )
    return _interruptible(lambda: run_sweep(spec, out, a.resume))


def sweep_links(link: str | None, uplink_kbps: str | None) -> list[str]:
    """``--link``'s specs, or the older ``--uplink-kbps`` rates as links (not both)."""
    if link is not None and uplink_kbps is not None:
        raise AgentloadError("--link and --uplink-kbps: give one (--uplink-kbps 512 is --link up=512kbit)")
    if uplink_kbps is not None:
        rates = parse_list("--uplink-kbps", uplink_kbps, float)
        if any(not math.isfinite(u) or u < 0 for u in rates):
            raise AgentloadError("--uplink-kbps: 0 (not shaped) or more kbit/s")
        return [uplink_text(u) for u in rates]
    if link is None:
        return [""]
    specs = split_links(link)
    if not link.strip() or any(not t for t in specs):
        raise AgentloadError(
            "--link: empty; give profiles (e.g. datacenter,broadband,mobile), figures, or none"
        )
    return specs


def _interruptible(run: Callable[[], int]) -> int:
    """A sweep (or the demo) stopped by Ctrl-C or by SIGTERM, a process manager's stop: the running
    cell's Locust and the embedded mock are stopped (their ``finally`` blocks run: SIGTERM's default
    would end this process at once and leave them running), the finished cells kept, exit 130."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        return run()
    except KeyboardInterrupt:
        print(
            "\nagentload sweep: interrupted; the cells that finished are kept (--resume goes on)",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)


def _report(a: argparse.Namespace) -> int:
    if a.projection_agents < 1:
        raise AgentloadError("--projection-agents: 1 or more")
    if a.slo is not None:
        parse_slo(a.slo)
    if a.baseline is not None and a.baseline not in NAMES:
        raise AgentloadError(f"--baseline: unknown strategy {a.baseline!r} (use one of: {', '.join(NAMES)})")
    baseline = a.baseline
    if baseline is None:  # the sweep's own (an older or unreadable sweep.json: http-stateless)
        store = RunStore(a.run_dir)
        baseline = store.read_spec().report_baseline if store.exists() else BASELINE
    report = write_report(a.run_dir, a.projection_agents, a.slo, baseline)
    print(report.markdown_table())
    print(f"\nreport: {a.run_dir / 'report.html'}")
    return report_objectives(report)
