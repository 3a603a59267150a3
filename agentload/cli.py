"""``agentload`` command line: the mock server, the demo, and the other sub-commands.

User mistakes end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from pathlib import Path

from .errors import AgentloadError

MOCK_KEY_ENV = "AGENTLOAD_MOCK_API_KEY"


def _add_mock_parser(sub: argparse._SubParsersAction) -> None:
    from .mock.config import DefaultScript, LatencyModel, MockConfig

    d, lat, script = MockConfig(), LatencyModel(), DefaultScript()
    p = sub.add_parser(
        "mock",
        help="run the embedded OpenAI-compatible mock server",
        description="The embedded OpenAI-compatible mock: Responses API over HTTP (SSE/JSON) and "
        "WebSocket, Chat Completions, a scripted model and a latency model.",
    )
    p.add_argument("--host", default=d.host, help=f"bind address (default {d.host}; loopback unless told)")
    p.add_argument("--port", type=int, default=d.port, help=f"port (default {d.port}; 0 picks a free one)")
    p.add_argument(
        "--api-key",
        default=None,
        help=f"require this bearer token (prefer the {MOCK_KEY_ENV} environment variable)",
    )
    p.add_argument(
        "--tls-cert",
        type=Path,
        default=None,
        help="serve https and wss with this PEM certificate (chain); needs --tls-key. Agents trust its CA "
        "through SSL_CERT_FILE",
    )
    p.add_argument("--tls-key", type=Path, default=None, help="the PEM private key of --tls-cert")
    p.add_argument(
        "--latency",
        choices=("realistic", "zero"),
        default="realistic",
        help="latency preset: realistic (the defaults below) or zero (capacity tests)",
    )
    p.add_argument(
        "--ttft-ms", type=float, default=None, help=f"base time to first token (default {lat.ttft_ms})"
    )
    p.add_argument(
        "--prefill-ms-per-1k",
        type=float,
        default=None,
        help=f"extra TTFT per 1000 uncached input tokens (default {lat.prefill_ms_per_1k})",
    )
    p.add_argument(
        "--cached-ms-per-1k",
        type=float,
        default=None,
        help=f"extra TTFT per 1000 cached input tokens (default {lat.cached_ms_per_1k})",
    )
    p.add_argument(
        "--output-tps",
        type=float,
        default=None,
        help=f"output tokens per second, 0 = unpaced (default {lat.output_tps})",
    )
    p.add_argument("--chunk-tokens", type=int, default=d.chunk_tokens, help="output tokens per delta event")
    p.add_argument(
        "--ws-lifetime",
        type=float,
        default=d.ws_lifetime_s,
        help=f"WebSocket connection lifetime in seconds (default {d.ws_lifetime_s:g})",
    )
    p.add_argument(
        "--gc-interval",
        type=float,
        default=d.gc_interval_s,
        help="seconds between the mock's full garbage collections, with none in between; 0 = Python's "
        f"automatic collector, whose pauses (~100 ms at 1,000 open streams) delay tokens (default {d.gc_interval_s:g})",
    )
    p.add_argument(
        "--default-calls",
        type=int,
        default=script.calls_per_turn,
        help="tool calls per turn for conversations that name no task",
    )
    p.add_argument(
        "--default-turns",
        type=int,
        default=script.turns,
        help="turns of tool calls before the final message, for conversations that name no task",
    )
    p.add_argument(
        "--tasks-dir", type=Path, default=d.tasks_dir, help="where task files are looked up by name"
    )
    p.add_argument("--model", default=d.model_name_default, help="model name listed at /v1/models")
    p.add_argument(
        "--rpm", type=int, default=d.rpm, help=f"requests per minute per API key (default {d.rpm:,})"
    )
    p.add_argument(
        "--tpm",
        type=int,
        default=d.tpm,
        help=f"tokens per minute per API key, input + estimated output, reserved at request start (default {d.tpm:,})",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=d.max_connections,
        help="concurrent WebSocket connections per API key; more are refused at the upgrade with 429 (default: no limit)",
    )
    p.add_argument(
        "--rate-burst",
        type=float,
        default=d.rate_burst_s,
        help=f"seconds of quota a key may burst; OpenAI quantizes per-minute limits (default {d.rate_burst_s:g})",
    )
    _add_fault_options(p)


def _add_fault_options(p: argparse.ArgumentParser) -> None:
    from .mock.faults import FAULTS, FaultConfig

    d = FaultConfig()
    g = p.add_argument_group(
        "fault injection",
        "Each fault gets a rate: a probability per response (0.02 or 2%) or a schedule (every:50). "
        "Faults: " + "; ".join(f"{name}: {what}" for name, (what, _) in FAULTS.items()) + ".",
    )
    g.add_argument(
        "--faults",
        default="",
        metavar="NAME=RATE,...",
        help="e.g. drop=0.02,http_503=1%%,stall=every:40 (all=0.01 sets every fault); default: none",
    )
    g.add_argument(
        "--fault-slow-s", type=float, default=d.slow_s, help=f"slow_first_byte delay (default {d.slow_s:g} s)"
    )
    g.add_argument(
        "--fault-stall-s", type=float, default=d.stall_s, help=f"stall length (default {d.stall_s:g} s)"
    )
    g.add_argument("--fault-seed", type=int, default=None, help="seed for the fault draws (repeatable runs)")


def _fault_config(a: argparse.Namespace) -> object:
    from .mock.faults import FaultConfig, FaultSpecError, parse_faults

    try:
        rates = parse_faults(a.faults)
    except FaultSpecError as e:
        raise AgentloadError(f"--faults: {e}") from None
    for flag, value in (("--fault-slow-s", a.fault_slow_s), ("--fault-stall-s", a.fault_stall_s)):
        if value < 0:
            raise AgentloadError(f"{flag}: must be 0 or more seconds, got {value:g}")
    return FaultConfig(rates=rates, slow_s=a.fault_slow_s, stall_s=a.fault_stall_s, seed=a.fault_seed)


def _mock_config(a: argparse.Namespace) -> object:
    from .mock.config import DefaultScript, LatencyModel, MockConfig

    lat = LatencyModel.zero() if a.latency == "zero" else LatencyModel()
    overrides = {
        f.name: getattr(a, f.name) for f in fields(LatencyModel) if getattr(a, f.name, None) is not None
    }
    for name, value in overrides.items():
        if value < 0:
            raise AgentloadError(f"--{name.replace('_', '-')}: must be 0 or more, got {value:g}")
    lat = LatencyModel(**{**lat.__dict__, **overrides})
    if a.port < 0 or a.port > 65535:
        raise AgentloadError(f"--port: {a.port} is not a port number (use 0-65535)")
    if a.chunk_tokens < 1:
        raise AgentloadError("--chunk-tokens: must be 1 or more")
    if a.ws_lifetime <= 0:
        raise AgentloadError("--ws-lifetime: must be more than 0 seconds")
    if (a.tls_cert is None) != (a.tls_key is None):
        raise AgentloadError("--tls-cert and --tls-key: give both (a PEM certificate and its key) or neither")
    for flag, path in (("--tls-cert", a.tls_cert), ("--tls-key", a.tls_key)):
        if path is not None and not path.is_file():
            raise AgentloadError(f"{flag}: {path} is not a file")
    if a.gc_interval < 0:
        raise AgentloadError("--gc-interval: must be 0 (Python's automatic collector) or more seconds")
    if not a.tasks_dir.is_dir():
        raise AgentloadError(f"--tasks-dir: {a.tasks_dir} is not a directory")
    if a.default_calls < 1 or a.default_turns < 0:
        raise AgentloadError("--default-calls must be 1 or more and --default-turns 0 or more")
    for flag, value in (("--rpm", a.rpm), ("--tpm", a.tpm)):
        if value < 1:
            raise AgentloadError(f"{flag}: must be 1 or more, got {value}")
    if a.max_connections < 0:
        raise AgentloadError("--max-connections: must be 0 (no limit) or more")
    if a.rate_burst <= 0:
        raise AgentloadError("--rate-burst: must be more than 0 seconds")
    key = a.api_key or os.environ.get(MOCK_KEY_ENV) or None
    return MockConfig(
        host=a.host,
        port=a.port,
        api_key=key,
        tls_cert=a.tls_cert,
        tls_key=a.tls_key,
        latency=lat,
        default_script=DefaultScript(calls_per_turn=a.default_calls, turns=a.default_turns),
        tasks_dir=a.tasks_dir,
        chunk_tokens=a.chunk_tokens,
        ws_lifetime_s=a.ws_lifetime,
        gc_interval_s=a.gc_interval,
        model_name_default=a.model,
        rpm=a.rpm,
        tpm=a.tpm,
        max_connections=a.max_connections,
        rate_burst_s=a.rate_burst,
        faults=_fault_config(a),  # type: ignore[arg-type]
    )


def _add_demo_parser(sub: argparse._SubParsersAction) -> None:
    from .demo import DEMO, DEMO_AGENTS

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
    _add_cell_options(p, DEMO.duration_s, DEMO.warmup_s, DEMO.processes)


def _add_cell_options(p: argparse.ArgumentParser, duration: float, warmup: float, processes: int) -> None:
    """What every sweep cell runs with (the sweep and the demo, with their own defaults)."""
    from .sweep import SweepSpec

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
    p.add_argument("locust_args", nargs="*", help="after --: Locust/agentload options for every cell")


def _add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    from .options import DEFAULTS
    from .sweep import SweepSpec

    p = sub.add_parser(
        "sweep",
        help="run a matrix of cells (strategy x agents x task x model x uplink) and write the report",
        description="Each cell is one Locust run (master + local workers) against --host or the embedded "
        "mock. Cells are recorded as they finish (cells.jsonl, cells.csv); --resume runs the missing ones. "
        "Locust options for every cell follow `--`, e.g. -- --on-429 retry.",
    )
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/sweep-TIMESTAMP)")
    p.add_argument("--strategies", default="all", help="comma-separated strategies (default all)")
    p.add_argument("--agents", default="4", help="agent counts, comma-separated (default 4)")
    p.add_argument(
        "--task", default="all", help="tasks, comma-separated names or files; 'all' = the built-ins cycled"
    )
    p.add_argument(
        "--models", default=DEFAULTS["model"], help=f"models, comma-separated (default {DEFAULTS['model']})"
    )
    p.add_argument(
        "--uplink-kbps", default="0", help="uplink rates in kbit/s, comma-separated (0 = not shaped)"
    )
    p.add_argument(
        "--tasks",
        type=int,
        default=0,
        help="end a cell once this many tasks started after the warm-up finished",
    )
    p.add_argument("--host", default="", help="the API to load (default: the embedded mock)")
    p.add_argument("--resume", action="store_true", help="finish the sweep in --out: run only missing cells")
    p.add_argument(
        "--master-url",
        default="",
        help="drive a running Locust master (its web UI, e.g. http://master:8089; started with this "
        "locustfile and --class-picker) instead of starting one per cell; its workers run the agents",
    )
    _add_cell_options(p, SweepSpec.duration_s, SweepSpec.warmup_s, SweepSpec.processes)


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    from .report import DEFAULT_PROJECTION_AGENTS

    p = sub.add_parser(
        "report",
        help="write the HTML/Markdown/JSON report of a sweep folder",
        description="Reads RUN_DIR/cells.jsonl and writes report.html (self-contained), report.md, report.json.",
    )
    p.add_argument("run_dir", type=Path)
    p.add_argument(
        "--projection-agents",
        type=int,
        default=DEFAULT_PROJECTION_AGENTS,
        help=f"concurrent agents for the bandwidth projection (default {DEFAULT_PROJECTION_AGENTS:,})",
    )


def _add_fleet_parser(sub: argparse._SubParsersAction) -> None:
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


def _add_dashboard_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="write the Grafana dashboard (InfluxQL over agentload's InfluxDB points)",
        description="Writes the Grafana dashboard JSON that deploy/grafana provisions.",
    )
    p.add_argument("--out", default="-", help="file to write (default: standard output)")


def _add_probe_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser(
        "probe",
        help="find the rate limits: ramp agents in steps until 429s or TTFT say stop (Locust options follow)",
        description="Runs Locust headless with agentload/probe_locustfile.py; every other option is Locust's "
        "or agentload's (--host, --strategy, --task, --task-rate, --probe-steps, --probe-hold, ...). "
        "Example: agentload probe --host http://127.0.0.1:8000 --task probe-requests --task-rate 1 "
        "--probe-steps 4,8,16",
        add_help=False,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentload", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_mock_parser(sub)
    _add_demo_parser(sub)
    _add_sweep_parser(sub)
    _add_report_parser(sub)
    _add_fleet_parser(sub)
    _add_dashboard_parser(sub)
    _add_probe_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe"]:  # everything after `probe` belongs to Locust's parser
        import subprocess

        from .launch import PROBE_LOCUSTFILE, ROOT, locust_argv

        cmd = locust_argv(*argv[1:], locustfile=PROBE_LOCUSTFILE)
        try:
            return subprocess.call(cmd, cwd=ROOT)
        except KeyboardInterrupt:
            return 130
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "mock":
            from .mock.server import serve

            serve(_mock_config(args))  # type: ignore[arg-type]
            return 0
        if args.command == "demo":
            from .demo import run_demo

            if args.agents < 1 or args.processes < 1 or args.tool_latency_scale < 0:
                raise AgentloadError(
                    "demo: --agents must be 1 or more, --processes 1 or more, --tool-latency-scale 0 or more"
                )
            return run_demo(
                args.out,
                args.agents,
                args.duration,
                args.warmup,
                args.processes,
                args.tool_latency_scale,
                args.locust_args or [],
            )
        if args.command == "sweep":
            from .sweep import main_from_args

            if args.out is None:
                import time

                args.out = Path("runs") / time.strftime("sweep-%Y%m%d-%H%M%S")
            return main_from_args(args)
        if args.command == "report":
            from .report import write_report

            if args.projection_agents < 1:
                raise AgentloadError("--projection-agents: 1 or more")
            report = write_report(args.run_dir, args.projection_agents)
            print(report.markdown_table())
            print(f"\nreport: {args.run_dir / 'report.html'}")
            return 0
        if args.command == "fleet":
            from .fleet import run_fleet

            return run_fleet(args.workers, args.locust_args or [])
        if args.command == "dashboard":
            from .influx.dashboard import render

            if args.out == "-":
                sys.stdout.write(render())
            else:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(render())
            return 0
    except AgentloadError as e:
        print(f"agentload: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        if args.command == "mock":
            print(
                f"agentload mock: cannot listen on {args.host}:{args.port}: {e.strerror} "
                "(pick another --port, or 0 for a free one)",
                file=sys.stderr,
            )
            return 2
        raise
    except KeyboardInterrupt:
        return 130
    return 0
