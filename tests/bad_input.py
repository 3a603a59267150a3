"""The bad-input suite's cases, and the runner that tries them all in one process.

Each case is a command line (``agentload ...`` or ``locust ...``: agentload's options on Locust's
parser) with a bad value of one flag or argument: invalid, empty, of the wrong type, a folder where a
file goes or a file where a folder goes. Each must end with one line naming the flag, file or field and
the fix, exit code 2, and no traceback.

The runner takes each case through the code a real start takes, in process (hundreds of cases in
seconds): ``agentload.cli.main`` for the commands, and for a Locust run Locust's own parser followed by
``runtime.plugin.check_start`` (what agentload's init listener runs; its one line and exit 2 are the
real ``locust`` command's, checked in tests/e2e/test_bad_input.py). Whatever a command would start
once its input passed (a server, a process, Locust) is replaced by a stand-in that says "accepted", so
a bad value that is let through shows as that, never as a load.

``python -m tests.bad_input`` prints one JSON line per case: its index, exit code and stderr.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

TMP = Path(tempfile.gettempdir()) / "agentload-bad-input"
A_FILE = TMP / "a-file"  # a file where a folder goes
A_FOLDER = TMP / "a-folder"  # a folder where a file goes
EMPTY = TMP / "empty.yaml"
NOT_JSON = TMP / "not-json.jsonl"
TRACELAB_BAD = TMP / "tracelab-bad.jsonl"  # a TraceLab round trace whose second row is malformed
WEKA_BAD = TMP / "weka-bad.json"  # a Weka trace whose second request's input is not a count
MISSING = TMP / "no-such" / "thing.yaml"
BAD_KEYS = TMP / "bad-keys.txt"  # an --api-keys file whose second line is not one key
SUB_DEEP = TMP / "sub-deep.yaml"  # subagents nested 4 deep
SUB_UNKNOWN = TMP / "sub-unknown.yaml"  # a subagent naming a task that does not exist
SUB_CYCLE = TMP / "sub-cycle.yaml"  # a task that spawns itself
SUB_FORK_INSTRUCTIONS = TMP / "sub-fork-instructions.yaml"  # a fork with instructions of its own
SUB_KIND = TMP / "sub-kind.yaml"  # a subagent of an unknown kind
ACCEPTED = "ACCEPTED"  # what the stand-ins print when a command would have started
RUN = ["locust", "--headless", "-u", "5", "-t", "1s", "--host", "http://127.0.0.1:9"]  # a run that starts now
PROBE = ["probe", *RUN[1:]]

# (command line, what the one line must contain)
CASES: list[tuple[list[str], str]] = [
    # ---- a Locust run: agentload's run options
    ([*RUN, "--strategy", ""], "--strategy"),
    ([*RUN, "--strategy", "bogus"], "--strategy"),
    ([*RUN, "--strategy", ","], "--strategy"),
    ([*RUN, "--task", ""], "--task"),
    ([*RUN, "--task", "no-such-task"], "no such task"),
    ([*RUN, "--task", str(A_FOLDER)], "is a folder"),
    ([*RUN, "--task", str(EMPTY)], "must be a mapping"),
    ([*RUN, "--task", str(MISSING)], "file not found"),
    ([*RUN, "--api-keys", str(MISSING)], "--api-keys"),
    ([*RUN, "--api-keys", str(EMPTY)], "no keys in it"),
    ([*RUN, "--api-keys", str(A_FOLDER)], "--api-keys"),
    ([*RUN, "--api-keys", str(BAD_KEYS)], "line 2 is not one key"),
    ([*RUN, "--agents-per-user", "0"], "--agents-per-user"),
    ([*RUN, "--agents-per-user", "33"], "--agents-per-user"),
    ([*RUN, "--agents-per-user", "4", "--task-rate", "0.1"], "--agents-per-user"),
    ([*RUN, "--task", str(SUB_DEEP)], "subagents nested 4 deep"),
    ([*RUN, "--task", str(SUB_UNKNOWN)], "turns[0].calls[0].subagents[0].task"),
    ([*RUN, "--task", str(SUB_CYCLE)], "a cycle"),
    ([*RUN, "--task", str(SUB_FORK_INSTRUCTIONS)], "subagents[0].instructions"),
    ([*RUN, "--task", str(SUB_KIND)], "subagents[0].kind"),
    (["agentload", "mock", "--task", str(SUB_DEEP)], "subagents nested 4 deep"),
    ([*RUN, "--model", ""], "--model"),
    ([*RUN, "--model", "   "], "--model"),
    ([*RUN, "--reasoning-effort", "extreme"], "--reasoning-effort"),
    ([*RUN, "--tool-latency-scale", "nan"], "--tool-latency-scale"),
    ([*RUN, "--tool-latency-scale", "-1"], "--tool-latency-scale"),
    ([*RUN, "--tool-latency-jitter", "2"], "--tool-latency-jitter"),
    ([*RUN, "--time-scale", "0"], "--time-scale"),
    ([*RUN, "--time-scale", "nan"], "--time-scale"),
    ([*RUN, "--idle-close", "-1"], "--idle-close"),
    ([*RUN, "--idle-close", "inf"], "--idle-close"),
    ([*RUN, "--tool-latency-jitter", "abc"], "--tool-latency-jitter"),
    ([*RUN, "--client-profile", "nope"], "nope: no such client profile"),
    ([*RUN, "--client-profile", str(A_FOLDER)], "is a folder"),
    ([*RUN, "--resend-instructions=maybe"], "--resend-instructions"),
    ([*RUN, "--connect-timeout", "0"], "--connect-timeout"),
    ([*RUN, "--first-token-timeout", "-1"], "--first-token-timeout"),
    ([*RUN, "--idle-timeout", "abc"], "--idle-timeout"),
    ([*RUN, "--max-retries", "-1"], "--max-retries"),
    ([*RUN, "--max-retries", "1.5"], "--max-retries"),
    ([*RUN, "--link", "bogus"], "--link: unknown profile"),
    ([*RUN, "--link", "rtt=abc,up=20mbit"], "--link: rtt="),
    ([*RUN, "--link", "rtt=-40ms"], "--link: rtt='-40ms' is negative"),
    ([*RUN, "--link", "up=-1mbit"], "--link: up='-1mbit' is negative"),
    ([*RUN, "--link", "broadband,loss=90%"], "--link: loss="),
    ([*RUN, "--link", "rtt=40ms,,"], "--link: an empty item"),
    ([*RUN, "--uplink-kbps", "inf"], "--uplink-kbps"),
    ([*RUN, "--uplink-kbps", "-1"], "--uplink-kbps"),
    ([*RUN, "--ws-compression", "gzip"], "--ws-compression"),
    ([*RUN, "--ws-window-bits", "20"], "--ws-window-bits"),
    ([*RUN, "--ws-window-bits", ""], "--ws-window-bits"),
    ([*RUN, "--http-compression", "brotli"], "--http-compression"),
    ([*RUN, "--http-accept-encoding", "br"], "--http-accept-encoding"),
    ([*RUN, "--no-preflight=maybe"], "--no-preflight"),
    ([*RUN, "--records", str(A_FOLDER)], "is a folder"),
    ([*RUN, "--records", str(A_FILE / "x.jsonl")], "writable"),
    ([*RUN, "--summary-json", str(A_FOLDER)], "is a folder"),
    ([*RUN, "--summary-json", str(A_FILE / "x.json")], "writable"),
    ([*RUN, "--on-429", "ignore"], "--on-429"),
    ([*RUN, "--max-429-retries", "-1"], "--max-429-retries"),
    ([*RUN, "--task-rate", "inf"], "--task-rate"),
    ([*RUN, "--task-rate", "1000"], "--task-rate"),
    ([*RUN, "--session-rate", "1e308"], "--session-rate"),
    ([*RUN, "--session-rate", "1", "--task-rate", "1"], "--session-rate"),
    ([*RUN, "--burstiness", "0"], "--burstiness"),
    ([*RUN, "--start-jitter", "-1"], "--start-jitter"),
    ([*RUN, "--slo", "task_s=fast"], "--slo"),
    ([*RUN, "--slo", "nosuch=1"], "--slo"),
    ([*RUN, "--run-id", "a b"], "--run-id"),
    ([*RUN, "--run-id", "x" * 200], "--run-id"),
    ([*RUN, "--cpu-warn-percent", "150"], "--cpu-warn-percent"),
    ([*RUN, "--host", "http://[::1"], "--host"),
    ([*RUN, "--host", "http://127.0.0.1:abc"], "--host"),
    ([*RUN, "--host", "ftp://127.0.0.1"], "--host"),
    ([*RUN, "--host", "http://127.0.0.1:9/openai/v1?api-version=1"], "--host: give the API's base URL alone"),
    ([*RUN, "--host", "http://user:sk-x@127.0.0.1:9/v1"], "--host: give the API's base URL alone"),
    ([*RUN, "-u", "0"], "-u/--users"),
    ([*RUN, "-u", "-3"], "-u/--users"),
    ([*RUN, "WsAgent", "--strategy", "chat"], "--strategy"),
    ([*RUN, "WsAgent", "ChatAgent", "--strategy", "ws"], "--strategy"),
    # ---- a Locust run: the InfluxDB output
    ([*RUN, "--influx-url", "http://127.0.0.1:abc", "--influx-db", "x"], "--influx-url"),
    ([*RUN, "--influx-url", "ftp://127.0.0.1", "--influx-db", "x"], "--influx-url"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086"], "--influx-org"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086", "--influx-org", "o", "--influx-bucket", ""], "--influx-bucket"),
    ([*RUN, "--influx-db", "x"], "--influx-url"),
    ([*RUN, "--influx-rp", "autogen"], "--influx-url"),
    ([*RUN, "--influx-token", "t"], "--influx-url"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086", "--influx-db", "x", "--influx-batch", "0"], "--influx-batch"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086", "--influx-db", "x", "--influx-flush-interval", "-1"], "--influx-flush-interval"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086", "--influx-db", "x", "--influx-buffer", "1", "--influx-batch", "10"], "--influx-buffer"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086", "--influx-db", "x", "--influx-interval", "0"], "--influx-interval"),
    ([*RUN, "--influx-url", "http://127.0.0.1:8086", "--influx-db", "x", "--influx-flush-timeout", "-5"], "--influx-flush-timeout"),
    # ---- the probe's options
    ([*PROBE, "--probe-steps", "4,x"], "--probe-steps"),
    ([*PROBE, "--probe-steps", ""], "--probe-steps"),
    ([*PROBE, "--probe-steps", "0,2"], "--probe-steps"),
    ([*PROBE, "--probe-hold", "0"], "--probe-hold"),
    ([*PROBE, "--probe-hold", "5", "--probe-warmup", "4"], "--probe-hold"),
    ([*PROBE, "--probe-warmup", "-1"], "--probe-warmup"),
    ([*PROBE, "--probe-max-429", "1"], "--probe-max-429"),
    ([*PROBE, "--probe-max-ttft-factor", "1"], "--probe-max-ttft-factor"),
    ([*PROBE, "--probe-out", str(A_FILE)], "--probe-out"),
    ([*PROBE, "--probe-spawn-rate", "0"], "--probe-spawn-rate"),
    # ---- agentload mock
    (["agentload", "mock", "--host", ""], "--host"),
    (["agentload", "mock", "--port", "abc"], "--port"),
    (["agentload", "mock", "--port", "70000"], "--port"),
    (["agentload", "mock", "--api-key", ""], "--api-key"),
    (["agentload", "mock", "--tls-cert", str(MISSING), "--tls-key", str(MISSING)], "--tls-cert"),
    (["agentload", "mock", "--tls-cert", str(A_FILE), "--tls-key", str(A_FOLDER)], "--tls-key"),
    (["agentload", "mock", "--tls-cert", str(A_FILE)], "--tls-cert"),
    (["agentload", "mock", "--latency", "fast"], "--latency"),
    (["agentload", "mock", "--ttft-ms", "-1"], "--ttft-ms"),
    (["agentload", "mock", "--prefill-ms-per-1k", "abc"], "--prefill-ms-per-1k"),
    (["agentload", "mock", "--cached-ms-per-1k", "-1"], "--cached-ms-per-1k"),
    (["agentload", "mock", "--output-tps", "-5"], "--output-tps"),
    (["agentload", "mock", "--server-profile", "fast"], "--server-profile"),
    (["agentload", "mock", "--admission-ms", "-1"], "--admission-ms"),
    (["agentload", "mock", "--ingest-ms-per-kb", "abc"], "--ingest-ms-per-kb"),
    (["agentload", "mock", "--reasoning-item-ms", "-0.5"], "--reasoning-item-ms"),
    (["agentload", "mock", "--store-load-ms", "inf"], "--store-load-ms"),
    (["agentload", "mock", "--prompt-ms-per-1k", "nan"], "--prompt-ms-per-1k"),
    (["agentload", "mock", "--time-scale", "0"], "--time-scale"),
    (["agentload", "mock", "--time-scale", "-1"], "--time-scale"),
    (["agentload", "mock", "--chunk-tokens", "0"], "--chunk-tokens"),
    (["agentload", "mock", "--ws-lifetime", "-1"], "--ws-lifetime"),
    (["agentload", "mock", "--gc-interval", "-1"], "--gc-interval"),
    (["agentload", "mock", "--default-calls", "-1"], "--default-calls"),
    (["agentload", "mock", "--default-turns", "-1"], "--default-turns"),
    (["agentload", "mock", "--tasks-dir", str(A_FILE)], "--tasks-dir"),
    (["agentload", "mock", "--task", str(A_FOLDER)], "--task"),
    (["agentload", "mock", "--task", str(EMPTY)], "--task"),
    (["agentload", "mock", "--prompt-cache", "maybe"], "--prompt-cache"),
    (["agentload", "mock", "--prompt-cache-ttl", "-1"], "--prompt-cache-ttl"),
    (["agentload", "mock", "--prompt-cache-blocks", "0"], "--prompt-cache-blocks"),
    (["agentload", "mock", "--ws-compression", "gzip"], "--ws-compression"),
    (["agentload", "mock", "--response-compression", "gzip"], "--response-compression"),
    (["agentload", "mock", "--model", ""], "--model"),
    (["agentload", "mock", "--rpm", "abc"], "--rpm"),
    (["agentload", "mock", "--tpm", "-1"], "--tpm"),
    (["agentload", "mock", "--max-connections", "-1"], "--max-connections"),
    (["agentload", "mock", "--rate-burst", "-1"], "--rate-burst"),
    (["agentload", "mock", "--faults", "drop=0.6,http_500=0.6"], "--faults"),
    (["agentload", "mock", "--faults", "nosuch=0.1"], "--faults"),
    (["agentload", "mock", "--fault-slow-s", "-1"], "--fault-slow-s"),
    (["agentload", "mock", "--fault-stall-s", "nan"], "--fault-stall-s"),
    (["agentload", "mock", "--fault-seed", "abc"], "--fault-seed"),
    # ---- agentload record
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(TMP / "rec"), "--port", "abc"], "--port"),
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(TMP / "rec"), "--port", "70000"], "--port"),
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(TMP / "rec"), "--bind", ""], "--bind"),
    (["agentload", "record", "--upstream", "ftp://x", "--out", str(TMP / "rec")], "--upstream"),
    (["agentload", "record", "--upstream", "", "--out", str(TMP / "rec")], "--upstream"),
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(A_FILE)], "--out"),
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(A_FILE / "x")], "--out"),
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(TMP / "rec"), "--keep-content=yes"], "--keep-content"),
    (["agentload", "record", "--upstream", "http://127.0.0.1:9", "--out", str(TMP / "rec"), "--name", "a b"], "--name"),
    # ---- agentload import
    (["agentload", "import", str(NOT_JSON), "--out", str(A_FILE)], "--out"),
    (["agentload", "import", str(A_FOLDER), "--out", str(TMP / "imp")], "is a folder"),
    (["agentload", "import", str(MISSING), "--out", str(TMP / "imp")], "no such file"),
    (["agentload", "import", str(NOT_JSON), "--out", str(TMP / "imp")], "not-json.jsonl:1: not JSON"),
    (["agentload", "import", str(EMPTY), "--out", str(TMP / "imp")], "empty"),
    (["agentload", "import", str(NOT_JSON), "--out", str(TMP / "imp"), "--keep-content=1"], "--keep-content"),
    (["agentload", "import", str(NOT_JSON), "--out", str(TMP / "imp"), "--tools-from", str(A_FOLDER)], "--tools-from"),
    (["agentload", "import", str(NOT_JSON), "--out", str(TMP / "imp"), "--tools-from", str(MISSING)], "--tools-from"),
    (["agentload", "import", str(TRACELAB_BAD), "--out", str(TMP / "imp")], "tracelab-bad.jsonl:2: `round_index` must be a count"),
    (["agentload", "import", str(WEKA_BAD), "--out", str(TMP / "imp")], "weka-bad.json: requests[1].in: must be a token count"),
    # ---- agentload demo
    (["agentload", "demo", "--out", str(A_FILE)], "--out"),
    (["agentload", "demo", "--agents", "0"], "--agents"),
    (["agentload", "demo", "--agents", "x"], "--agents"),
    (["agentload", "demo", "--duration", "0"], "--duration"),
    (["agentload", "demo", "--warmup", "-1"], "--warmup"),
    (["agentload", "demo", "--processes", "0"], "--processes"),
    (["agentload", "demo", "--tool-latency-scale", "-1"], "--tool-latency-scale"),
    (["agentload", "demo", "--slo", "p99=1"], "--slo"),
    (["agentload", "demo", "--link", "bogus"], "--link: unknown profile"),
    (["agentload", "demo", "--link", "rtt=-1ms"], "--link: rtt='-1ms' is negative"),
    (["agentload", "demo", "--server-profile", "fast"], "--server-profile"),
    (["agentload", "demo", "--time-scale", "0"], "--time-scale"),
    (["agentload", "demo", "--time-scale", "x"], "--time-scale"),
    # ---- agentload sweep
    (["agentload", "sweep", "--out", str(A_FILE / "x")], "--out"),
    (["agentload", "sweep", "--out", str(A_FILE)], "--out"),
    (["agentload", "sweep", "--strategies", "bogus"], "--strategies"),
    (["agentload", "sweep", "--strategies", ""], "--strategies"),
    (["agentload", "sweep", "--agents", "x"], "--agents"),
    (["agentload", "sweep", "--agents", "0"], "--agents"),
    (["agentload", "sweep", "--task", ""], "--task"),
    (["agentload", "sweep", "--task", "no-such-task"], "no such task"),
    (["agentload", "sweep", "--models", ""], "--models"),
    (["agentload", "sweep", "--uplink-kbps", "x"], "--uplink-kbps"),
    (["agentload", "sweep", "--uplink-kbps", "-512"], "--uplink-kbps"),
    (["agentload", "sweep", "--link", "datacenter,bogus"], "--link: unknown profile 'bogus'"),
    (["agentload", "sweep", "--link", "broadband;rtt=1ms,x=2"], "--link: unknown key 'x'"),
    (["agentload", "sweep", "--link", "mobile;up=-1mbit"], "--link: up='-1mbit' is negative"),
    (["agentload", "sweep", "--link", ""], "--link: empty"),
    (["agentload", "sweep", "--link", "broadband", "--uplink-kbps", "512"], "--link and --uplink-kbps"),
    (["agentload", "sweep", "--server-profile", "fast"], "--server-profile"),
    (["agentload", "sweep", "--time-scale", "0"], "--time-scale"),
    (["agentload", "sweep", "--time-scale", "abc"], "--time-scale"),
    (["agentload", "sweep", "--compression", "brotli"], "--compression"),
    (["agentload", "sweep", "--tasks", "-1"], "--tasks"),
    (["agentload", "sweep", "--host", "ftp://x"], "--host"),
    (["agentload", "sweep", "--out", str(TMP / "new-sweep"), "--resume"], "--resume"),
    (["agentload", "sweep", "--master-url", "not a url"], "--master-url"),
    (["agentload", "sweep", "--duration", "0"], "--duration"),
    (["agentload", "sweep", "--warmup", "-1"], "--warmup"),
    (["agentload", "sweep", "--processes", "0"], "--processes"),
    (["agentload", "sweep", "--tool-latency-scale", "-1"], "--tool-latency-scale"),
    (["agentload", "sweep", "--slo", "p99=1"], "--slo"),
    (["agentload", "sweep", "--agents-per-user", "0"], "--agents-per-user"),
    (["agentload", "sweep", "--agents-per-user", "1,33"], "--agents-per-user"),
    (["agentload", "sweep", "--agents-per-user", "x"], "--agents-per-user"),
    (["agentload", "sweep", "--subagents", "none,nested"], "--subagents"),
    (["agentload", "sweep", "--max-connections", "-1"], "--max-connections"),
    (["agentload", "sweep", "--max-connections", "4", "--host", "http://127.0.0.1:9"], "--max-connections"),
    (["agentload", "sweep", "--strategies", "ws,ws-mux", "--baseline", "http-chained"], "--baseline"),
    # ---- agentload report, compare, fleet, locustfile, dashboard
    (["agentload", "report", str(MISSING)], "no such folder"),
    (["agentload", "report", str(A_FILE)], "is a file"),
    (["agentload", "report", str(A_FOLDER)], "no cells.jsonl"),
    (["agentload", "report", str(A_FOLDER), "--slo", "p99=1"], "--slo"),
    (["agentload", "report", str(A_FOLDER), "--projection-agents", "0"], "--projection-agents"),
    (["agentload", "report", str(A_FOLDER), "--baseline", "bogus"], "--baseline: unknown strategy"),
    (["agentload", "compare", str(MISSING), str(A_FOLDER)], "no such file"),
    (["agentload", "compare", str(A_FOLDER), str(A_FOLDER)], "neither a sweep folder"),
    (["agentload", "compare", str(A_FOLDER), str(A_FOLDER), "--fail-if-worse", "task_s=5"], "--fail-if-worse"),
    (["agentload", "compare", str(A_FOLDER), str(A_FOLDER), "--out", str(A_FILE)], "--out"),
    (["agentload", "fleet", "--workers", "abc"], "--workers"),
    (["agentload", "fleet", "--workers", "0"], "--workers"),
    (["agentload", "locustfile", "--probe=yes"], "--probe"),
    (["agentload", "dashboard", "--out", str(TMP / "no" / "such" / "x.json")], "--out"),
    (["agentload", "dashboard", "--out", str(A_FOLDER)], "--out"),
    (["agentload", "calibrate", "--check=yes"], "--check"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9"], "--upstream"),  # nothing listens there
    (["agentload", "gateway", "--gateway", "gw:4000", "--upstream", "http://127.0.0.1:9"], "--gateway"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--strategies", "ws,bogus"], "--strategies"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--agents", "0"], "--agents"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--duration", "abc"], "--duration"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--task", str(MISSING)], "--task"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--model", " "], "--model"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--timeout", "0"], "--timeout"),
    (["agentload", "gateway", "--gateway", "http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9", "--out", str(A_FILE)], "--out"),
    (["agentload", "bogus"], "invalid choice"),
]  # fmt: skip


def make_fixtures() -> None:
    """The files and folders the cases name."""
    TMP.mkdir(parents=True, exist_ok=True)
    A_FOLDER.mkdir(exist_ok=True)
    A_FILE.write_text("x")
    EMPTY.write_text("")
    NOT_JSON.write_text("this is not JSON\n")
    _subagent_files()
    BAD_KEYS.write_text("sk-one\nsk two words\n")
    row = {"provider": "codex", "session_id": "codex:x", "round_index": 0, "input_tokens_total": 10,
           "prefix_tokens": 0, "newly_append_tokens": 10, "output_tokens": 5, "timing_events": [], "tools": []}  # fmt: skip
    TRACELAB_BAD.write_text(json.dumps(row) + "\n" + json.dumps({**row, "round_index": "1"}) + "\n")
    request = {"t": 0.0, "type": "n", "in": 100, "out": 10, "input_types": ["text"], "output_types": ["text"]}
    WEKA_BAD.write_text(
        json.dumps({"id": "x", "block_size": 64, "requests": [request, {**request, "in": "many"}]})
    )


def _subagent_task(name: str, subagent: Mapping[str, object]) -> str:
    """A task file whose one call spawns ``subagent``."""
    doc = {
        "name": name, "instructions": "x", "prompt": "p", "final_message": "done",
        "tools": [{"name": "spawn_agent"}],
        "turns": [{"calls": [{"tool": "spawn_agent", "subagents": [subagent]}]}],
    }  # fmt: skip
    return json.dumps(doc)


def _subagent_files() -> None:
    """Task files whose subagents are wrong: too deep, unknown, a cycle, a fork's own instructions."""
    inner: dict[str, object] = {"kind": "fork", "prompt": "p", "turns": [], "final_message": "f"}
    for _ in range(3):  # 4 deep in all
        inner = {"prompt": "p", "final_message": "f", "turns": [{"calls": [{"tool": "spawn_agent", "subagents": [inner]}]}]}  # fmt: skip
    SUB_DEEP.write_text(_subagent_task("sub-deep", inner))
    SUB_UNKNOWN.write_text(_subagent_task("sub-unknown", {"task": "no-such-task"}))
    SUB_CYCLE.write_text(_subagent_task("sub-cycle", {"task": SUB_CYCLE.name}))
    fork = {"kind": "fork", "instructions": "own", "prompt": "p", "turns": [], "final_message": "f"}
    SUB_FORK_INSTRUCTIONS.write_text(_subagent_task("sub-fork-instructions", fork))
    SUB_KIND.write_text(
        _subagent_task("sub-kind", {"kind": "clone", "prompt": "p", "turns": [], "final_message": "f"})
    )


class Accepted(BaseException):
    """A stand-in for whatever a command starts once its input passed."""


def _stand_ins() -> None:
    import subprocess

    import agentload.mock.server
    import agentload.recording.proxy

    def accepted(*_a: object, **_kw: object) -> None:
        raise Accepted

    async def accepted_async(*_a: object, **_kw: object) -> None:
        raise Accepted

    subprocess.Popen.__init__ = accepted  # type: ignore[method-assign]
    os.execv = accepted  # type: ignore[assignment]
    agentload.mock.server.serve = accepted
    agentload.recording.proxy.RecordingProxy.serve = accepted_async  # type: ignore[method-assign,assignment]


def _run_locust(args: list[str]) -> int:
    """Locust's parser with agentload's options, then agentload's start check (its init listener's)."""
    from locust.argument_parser import parse_options

    from agentload.core.errors import AgentloadError
    from agentload.probe.options import ProbeSettings  # (its options on Locust's parser too)
    from agentload.runtime.plugin import check_start
    from agentload.runtime.users import USER_CLASSES

    probe = args[0] == "probe"
    options = parse_options(args[1:])
    classes = list(USER_CLASSES.values())
    if options.user_classes:
        classes = [c for c in classes if c.__name__ in options.user_classes]
    try:
        if probe:
            ProbeSettings.from_options(options)
        check_start(options, options.host or "", classes, worker=False, shape=probe)
    except AgentloadError as e:
        print(f"agentload: {e}", file=sys.stderr)
        return e.exit_code
    raise Accepted


def run_case(argv: list[str]) -> int:
    from agentload import cli

    if argv[0] in ("locust", "probe"):
        return _run_locust(argv)
    return cli.main(argv[1:])


def main() -> None:
    import locust  # noqa: F401  (first: Locust patches the process for gevent before ssl is imported)

    make_fixtures()
    _stand_ins()
    import contextlib
    import io
    import traceback

    for i, (argv, _) in enumerate(CASES):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code: int | str | None = run_case(argv)
            except SystemExit as e:
                code = e.code
            except Accepted:
                code = ACCEPTED
            except Exception:
                traceback.print_exc()
                code = "traceback"
        print(json.dumps({"i": i, "code": code, "stderr": err.getvalue()}), flush=True)
    print(json.dumps({"flags": sorted(every_flag())}), flush=True)


def every_flag() -> set[str]:
    """Every agentload option of a Locust run (``locust --x``) and every flag of every command
    (``mock --port``): what the table must try at least once."""
    import argparse

    from agentload.cli import build_parser
    from agentload.core.fields import flag_of, option_fields
    from agentload.influx.config import InfluxOptions
    from agentload.probe.options import ProbeOptions
    from agentload.runtime.options import RunOptions

    out = {f"locust {flag_of(f, o)}" for c in (RunOptions, InfluxOptions) for f, o, _ in option_fields(c)}
    out |= {f"probe {flag_of(f, o)}" for f, o, _ in option_fields(ProbeOptions)}
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        out |= {
            f"{name} {flag}"
            for a in parser._actions
            for flag in a.option_strings
            if flag not in ("-h", "--help")
        }
    return out


def tried(argv: list[str]) -> set[str]:
    """The flags a case's command line gives, as ``every_flag`` names them."""
    command = argv[1] if argv[0] == "agentload" else argv[0]
    return {f"{command} {a.split('=')[0]}" for a in argv if a.startswith("-")}


if __name__ == "__main__":
    main()
