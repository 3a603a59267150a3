"""``agentload`` command line: the mock, the demo, sweeps, reports and comparisons, the fleet, the probe, the dashboard.

Each role's package owns its sub-commands (their parsers and what they run); this module only puts them
together. User mistakes end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .compare import cli as compare_cli
from .core.argparsing import OneLineParser
from .core.errors import AgentloadError
from .gateway import cli as gateway_cli
from .influx import cli as influx_cli
from .launch import cli as launch_cli
from .mock import cli as mock_cli
from .recording import cli as recording_cli
from .sweep import cli as sweep_cli


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="agentload",
        description="agentload: a distributed load generator for AI coding agents, on Locust.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mock_cli.add_parser(sub)
    recording_cli.add_parsers(sub)
    sweep_cli.add_parsers(sub)
    compare_cli.add_parser(sub)
    gateway_cli.add_parser(sub)
    launch_cli.add_parsers(sub)
    influx_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["probe"], ["locust"]):  # everything after these belongs to Locust's parser
        return launch_cli.exec_locust(argv[1:], probe=argv[0] == "probe")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except AgentloadError as e:
        print(f"agentload: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
