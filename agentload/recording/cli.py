"""``agentload record`` and ``agentload import``: real agent sessions into task files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from ..core.argparsing import Parser
from ..core.errors import AgentloadError
from ..core.paths import output_folder
from .importer import import_logs
from .proxy import RecordingProxy, Upstream
from .recorder import WRITE_INTERVAL_S, Recorder

READY = "agentload record: listening on"


def add_parsers(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "record",
        help="a recording proxy: point a real agent at it; each session becomes a task file",
        description="Forwards every request (Responses and Chat Completions, SSE or not, and Responses "
        "WebSocket mode) to --upstream unchanged, and writes each agent session as a task file in --out "
        "as it goes: per turn the calls, the outputs' sizes, the tool time, reasoning, and the bytes, "
        "TTFT and tokens measured on the client's side, plus the client's request shape as a client "
        "profile. Content is replaced by synthetic text of the same size unless --keep-content. API keys "
        "and headers are never written. Example: agentload record --port 8011 --upstream "
        "https://api.openai.com --out sessions/",
    )
    p.add_argument("--port", type=int, default=8011, help="the port to listen on (default 8011; 0: any free)")
    p.add_argument("--bind", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--upstream",
        required=True,
        help="where requests go: http(s)://HOST[:PORT][/BASE] (a client's /v1/... goes to BASE/...; no BASE: /v1, as --host)",
    )
    p.add_argument("--out", required=True, help="the folder the task files are written to")
    p.add_argument(
        "--keep-content", action="store_true", help="keep prompts, outputs and arguments as they were"
    )
    p.add_argument("--name", default="", help="the task names' prefix (default rec-DATE-TIME)")
    p.set_defaults(run=run_record)

    p = sub.add_parser(
        "import",
        help="agent logs and public traces as task files: Codex CLI rollouts, Claude Code transcripts, "
        "TraceLab round traces, Weka traces",
        description="Reads Codex CLI session rollouts (CODEX_HOME/sessions/**/rollout-*.jsonl) and Claude "
        "Code transcripts (~/.claude/projects/*/*.jsonl, their side chains as the subagents of the Task calls "
        "that ran them), each session (each prompt of it) a task file in "
        "--out, in the recorder's format: turns, calls, output sizes, tool time, tokens; and public "
        "traces of coding agents, each whole session a task file: TraceLab's normalized round JSONL "
        "(gzipped too) and Weka / kv-cache-tester traces (.json), with the user's later messages, the "
        "pauses before them, compaction and subagents (docs/recording.md). Which format a file is, its "
        "fields tell. Content is replaced by synthetic text of the same size unless --keep-content (a "
        "trace holds sizes only). Example: agentload import ~/.codex/sessions/2026/12/02/rollout-*.jsonl "
        "--out sessions/",
    )
    p.add_argument("logs", nargs="+", help="the log or trace files")
    p.add_argument("--out", required=True, help="the folder the task files are written to")
    p.add_argument(
        "--keep-content", action="store_true", help="keep prompts, outputs and arguments as they were"
    )
    p.add_argument(
        "--tools-from",
        default="",
        help="a task file whose tools the client declared (logs do not list them; e.g. one agentload "
        "record wrote of the same agent)",
    )
    p.set_defaults(run=run_import)


def run_import(a: argparse.Namespace) -> int:
    out = output_folder("--out", a.out)
    written = import_logs([Path(p) for p in a.logs], out, a.keep_content, a.tools_from)
    for path in written:
        print(path)
    print(f"agentload import: {len(written)} task file(s) in {out}", flush=True)
    return 0


async def _flush_every(recorder: Recorder) -> None:
    """A conversation that goes quiet mid-task still reaches the disk within a second or two."""
    while True:
        await asyncio.sleep(WRITE_INTERVAL_S)
        recorder.flush(older_than=WRITE_INTERVAL_S)


def run_record(a: argparse.Namespace) -> int:
    try:
        upstream = Upstream.parse(a.upstream)
    except ValueError as e:
        raise AgentloadError(str(e)) from None
    if not a.bind.strip():  # (an empty address listens on every interface)
        raise AgentloadError("--bind: empty; give an address (127.0.0.1; 0.0.0.0 for every interface)")
    if not 0 <= a.port <= 65535:
        raise AgentloadError(f"--port {a.port}: give 0 to 65535")
    if a.name and not a.name.replace("-", "").replace("_", "").isalnum():
        raise AgentloadError(f"--name {a.name!r}: use letters, digits, - and _")
    out = output_folder("--out", a.out)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    recorder = Recorder(out, a.keep_content, a.name)
    proxy = RecordingProxy(upstream, out / "raw", recorder.on_exchange)

    async def main() -> None:
        try:
            server = await proxy.serve(a.bind, a.port)
        except OSError as e:
            raise AgentloadError(
                f"--port {a.port}: cannot listen on {a.bind} ({e.strerror}); give another port"
            ) from None
        port = server.sockets[0].getsockname()[1]
        print(f"{READY} http://{a.bind}:{port} -> {a.upstream}; task files in {out}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ticker = asyncio.create_task(_flush_every(recorder))
        await stop.wait()
        ticker.cancel()
        server.close()
        await proxy.close()
        recorder.flush()

    asyncio.run(main())
    s = recorder.stats
    print(
        f"agentload record: {len(s.files)} task file(s) in {out}, {s.turns} turn(s) from {s.exchanges} "
        f"exchange(s) ({s.failed} failed or cut off, {proxy.unparsed} unreadable and kept raw)",
        flush=True,
    )
    return 0
