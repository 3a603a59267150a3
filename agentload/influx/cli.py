"""``agentload dashboard``: the Grafana dashboard that deploy/grafana provisions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.argparsing import Parser
from ..core.errors import AgentloadError
from .dashboard import render


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "dashboard",
        help="write the Grafana dashboard (InfluxQL over agentload's InfluxDB points)",
        description="Writes the Grafana dashboard JSON that deploy/grafana provisions.",
    )
    p.add_argument("--out", default="-", help="file to write (default: standard output)")
    p.set_defaults(run=run)


def run(a: argparse.Namespace) -> int:
    if a.out == "-":
        sys.stdout.write(render())
        return 0
    out = Path(a.out)
    if not out.parent.is_dir():
        raise AgentloadError(
            f"--out {out}: the folder {out.parent} does not exist (create it, or write elsewhere)"
        )
    try:
        out.write_text(render())
    except OSError as e:
        raise AgentloadError(f"--out {out}: cannot write it ({e.strerror or e})") from None
    return 0
