"""``agentload fleet``, ``agentload probe`` and ``agentload locustfile``: the commands that start Locust."""

from __future__ import annotations

import argparse
import os
import sys

from ..core.argparsing import Parser
from .fleet import run_fleet
from .locust import LOCUSTFILE, PROBE_LOCUSTFILE


def add_parsers(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "fleet",
        help="a Locust master and N worker processes on this machine (Locust options after --)",
        description="Starts a master and --workers worker processes (each its own process: one can be "
        "killed and the rest go on), on a master port of their own. Example: agentload fleet --workers 4 "
        "-- --headless -u 400 -r 50 --run-time 10m --host http://127.0.0.1:8000",
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument(
        "locust_args", nargs="*", help="after --: options for the master (Locust's and agentload's)"
    )
    p.set_defaults(run=lambda a: run_fleet(a.workers, a.locust_args or []))

    p = sub.add_parser(
        "probe",
        help="find the rate limits: ramp agents in steps until 429s or TTFT say stop (Locust options follow)",
        description="Runs Locust headless with the probe's locustfile; every other option is Locust's or "
        "agentload's (--host, --strategy, --task, --task-rate, --probe-steps, --probe-hold, ...; "
        "`agentload probe --help` lists them). Example: agentload probe --host http://127.0.0.1:8000 "
        "--task probe-requests --task-rate 1 --probe-steps 4,8,16",
        add_help=False,
    )
    p.set_defaults(run=None)  # main() hands everything after `probe` to Locust's parser

    p = sub.add_parser(
        "locust",
        help="Locust's own command line with agentload loaded (the packaged locustfile unless -f; "
        "--help lists agentload's options too)",
        add_help=False,
    )
    p.set_defaults(run=None)  # main() hands everything after `locust` to Locust's parser

    p = sub.add_parser(
        "locustfile",
        help='print the path of agentload\'s locustfile, for plain locust: locust -f "$(agentload locustfile)"',
        description="Prints the path of the locustfile inside the installed package (with --probe: the "
        "probe's), so plain `locust` runs agentload from any directory.",
    )
    p.add_argument("--probe", action="store_true", help="the rate-limit probe's locustfile")
    p.set_defaults(run=lambda a: print(PROBE_LOCUSTFILE if a.probe else LOCUSTFILE) or 0)


def exec_locust(args: list[str], probe: bool = False) -> int:
    """Become Locust (agentload.locust_main) with ARGS: this process, its pid and its signals."""
    argv = [sys.executable, "-m", "agentload.locust_main", *(["--probe"] if probe else []), *args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached
