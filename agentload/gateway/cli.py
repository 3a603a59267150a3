"""``agentload gateway --gateway URL --upstream URL``: agentload's agents through a gateway, checked at
the mock behind it. Prints the verdict table; exit 0 when every strategy kept its context, 1 when one
did not (one line each), 2 on bad input (one line naming the flag and the fix)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.argparsing import Parser
from ..core.errors import AgentloadError
from ..core.paths import check_output_folder
from ..core.protocol import API_KEY_ENV, CONTROL_PREFIX
from ..core.strategies import NAMES
from ..launch import procs
from ..launch.locust import locust_argv
from ..workload.files import load_task
from .preflight import _tls, check_gateway, check_upstream, get_json, origin, upstream_root
from .verdict import Row, markdown, rows


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "gateway",
        help="verify a gateway end to end: agentload's agents through it, agentload mock as its upstream",
        description="Start agentload mock, point your gateway's upstream at it, then run this: every "
        "strategy's agents run through --gateway, and the mock says what reached it. Per strategy: whether "
        "every turn reached the upstream with the context its conversation holds, the bytes the gateway "
        "sent on per byte it received, the time to first token it added, the errors it made up or "
        f"swallowed. The key for the gateway comes from {API_KEY_ENV}. Exit 1 when a strategy lost "
        "context. Resets the mock's counters first: give it a mock of its own.",
    )
    p.add_argument(
        "--gateway", required=True, help="the gateway's OpenAI base URL (as --host: a bare origin gets /v1)"
    )
    p.add_argument("--upstream", required=True, help="the URL of the agentload mock the gateway forwards to")
    p.add_argument(
        "--strategies",
        default="all",
        help="comma-separated strategies to run, or all (the default: every one in the registry)",
    )
    p.add_argument("--agents", type=int, default=1, help="agents per strategy (default 1)")
    p.add_argument(
        "--duration", type=float, default=20.0, help="seconds the agents start tasks (default 20); "
        "the tasks under way then finish"
    )  # fmt: skip
    p.add_argument("--task", default="", help="the task the agents play (default: agentload's default)")
    p.add_argument("--model", default="", help="the model to request (default: agentload's default)")
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds each start-up check waits (default 10)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for records and the verdict (default runs/gateway-TIMESTAMP)",
    )
    p.set_defaults(run=run)


def _strategies(value: str) -> list[str]:
    if value.strip() == "all":
        return list(NAMES)
    names = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in names if s not in NAMES]
    if unknown or not names:
        raise AgentloadError(
            f"--strategies {value}: unknown {', '.join(unknown) or 'none given'}; choose from {', '.join(NAMES)}"
        )
    return names


def _post(url: str, timeout_s: float) -> None:
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=timeout_s, context=_tls(url)) as resp:
        resp.read()


def _read_records(folder: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted(folder.glob("records*.jsonl")):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def run_agents(args: argparse.Namespace, strategies: list[str], out: Path) -> None:
    """Locust with agentload's agents through the gateway, ``--agents`` per strategy, until
    ``--duration`` is over and the tasks under way have finished."""
    for old in out.glob("records*.jsonl"):
        old.unlink()
    n = args.agents * len(strategies)
    cmd = locust_argv(
        "--host", args.gateway, "-u", str(n), "-r", str(n), "--run-time", f"{args.duration:g}s",
        "--stop-timeout", "120", "--strategy", ",".join(strategies), "--records", str(out / "records.jsonl"),
        "--only-summary", "--loglevel", "WARNING", "--run-id", "gateway",
        *(["--task", args.task] if args.task else []), *(["--model", args.model] if args.model else []),
    )  # fmt: skip
    with (out / "locust.log").open("w") as log:
        proc = procs.start(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        # a signal stops the run as its --duration would (Locust ends its tasks and writes its records),
        # and the check reports what ran; without this SIGTERM ended this process and left Locust running
        forward = lambda _sig, _frame: procs.signal_group(proc, signal.SIGTERM)  # noqa: E731
        before = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            proc.wait()
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)
            procs.stop_group(proc, grace_s=10.0)


def run(args: argparse.Namespace) -> int:
    strategies = _strategies(args.strategies)
    if args.agents < 1:
        raise AgentloadError(f"--agents {args.agents}: give 1 or more")
    if args.duration <= 0:
        raise AgentloadError(f"--duration {args.duration:g}: give a number of seconds above 0")
    if args.timeout <= 0:
        raise AgentloadError(f"--timeout {args.timeout:g}: give a number of seconds above 0")
    if args.model and not args.model.strip():
        raise AgentloadError("--model: give a model name the gateway serves (or leave it out)")
    for flag, url in (("--gateway", args.gateway), ("--upstream", args.upstream)):
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise AgentloadError(f"{flag} {url}: give an http:// or https:// URL, e.g. http://127.0.0.1:4000")
    if args.task:
        try:
            load_task(args.task)
        except AgentloadError as e:
            raise AgentloadError(f"--task {args.task}: {e}") from None
    out = args.out or Path("runs") / time.strftime("gateway-%Y%m%d-%H%M%S")
    check_output_folder("--out", out)
    check_upstream(args.upstream, args.timeout)
    check_gateway(args.gateway, os.environ.get(API_KEY_ENV, ""), args.timeout)
    root = upstream_root(args.upstream)
    _post(root + f"{CONTROL_PREFIX}/reset", args.timeout)
    out.mkdir(parents=True, exist_ok=True)
    run_agents(args, strategies, out)
    records = _read_records(out)
    _, upstream = get_json(root + f"{CONTROL_PREFIX}/continuity", {}, args.timeout)
    if not isinstance(upstream, dict):
        raise AgentloadError(f"--upstream {origin(args.upstream)}: its continuity report is not JSON")
    if not records:
        tail = (out / "locust.log").read_text()[-1200:]
        raise AgentloadError(
            f"no agent ran a turn through --gateway {origin(args.gateway)}; {out}/locust.log:\n{tail}"
        )
    table = rows(records, upstream)
    if not any(r.upstream_turns for r in table) and any(r.turns_ok for r in table):
        raise AgentloadError(
            f"--upstream {origin(args.upstream)}: no turn of the run reached it, though the gateway answered "
            f"{sum(r.turns_ok for r in table)}: point the gateway's upstream (LiteLLM: api_base) at this mock"
        )
    return report(table, out, args)


def report(table: list[Row], out: Path, args: argparse.Namespace) -> int:
    md = markdown(table)
    (out / "gateway.md").write_text(md + "\n")
    (out / "gateway.json").write_text(
        json.dumps(
            {
                "gateway": origin(args.gateway),
                "upstream": origin(args.upstream),
                "strategies": [
                    {**r.__dict__, "amplification": r.amplification, "added_ttft_ms": r.added_ttft_ms,
                     "made_up": r.made_up, "swallowed": r.swallowed, "failure": r.failure}
                    for r in table
                ],
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    print(md)
    failures = [r.failure for r in table if r.failure is not None]
    for r in table:
        if r.forked:
            print(
                f"{r.strategy}: {r.forked} turns of forked subagents not checked (counted apart)",
                file=sys.stderr,
            )
        if r.not_served:
            print(
                f"{r.strategy}: not served by the gateway (every turn {r.error}): nothing to check",
                file=sys.stderr,
            )
    for line in failures:
        print(f"FAIL {line}", file=sys.stderr)
    if not failures:
        print(f"every strategy kept its context through {origin(args.gateway)} ({out}/gateway.json)")
    return 1 if failures else 0
