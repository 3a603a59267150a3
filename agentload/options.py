"""agentload's command-line options: one place for every flag, its default and its help.

They are added to Locust's own parser, so they work on the command line, in locust.conf, as LOCUST_*
environment variables and (where marked) in the web UI, and the master hands them to its workers.
"""

from __future__ import annotations

from typing import Any

from .agent import ON_429, STRATEGY_TABLE
from .influx.config import add_influx_options
from .probe import add_probe_options

API_KEY_ENV = "OPENAI_API_KEY"
DEFAULTS = {
    "strategy": "all",
    "task": "all",
    "model": "gpt-5.4",
    "tool_latency_scale": 1.0,
    "tool_latency_jitter": 0.25,
    "connect_timeout": 10.0,
    "first_token_timeout": 120.0,
    "idle_timeout": 60.0,
    "max_retries": 2,
    "uplink_kbps": 0.0,
    "on_429": "honor",
    "max_429_retries": 20,
    "task_rate": 0.0,
    "start_jitter": 1.0,
    "cpu_warn_percent": 70.0,
}


def add_options(parser: Any) -> None:
    before = {a.dest for a in parser._actions}
    g = parser  # Locust accepts include_in_web_ui on its top-level parser only
    g.add_argument(
        "--strategy",
        default=DEFAULTS["strategy"],
        include_in_web_ui=True,
        help=f"continuation strategies to run, comma-separated: {', '.join(STRATEGY_TABLE)} "
        "(default: all, equal weights)",
    )
    g.add_argument(
        "--task",
        default=DEFAULTS["task"],
        include_in_web_ui=True,
        help="coding tasks, comma-separated built-in names or task files (default: all built-in)",
    )
    g.add_argument("--model", default=DEFAULTS["model"], include_in_web_ui=True, help="model name to request")
    g.add_argument(
        "--tool-latency-scale",
        type=float,
        default=DEFAULTS["tool_latency_scale"],
        include_in_web_ui=True,
        help="multiply every simulated tool latency (0 = no tool time)",
    )
    g.add_argument(
        "--tool-latency-jitter",
        type=float,
        default=DEFAULTS["tool_latency_jitter"],
        help="draw each turn's tool time uniformly within +-this fraction of the task's (default 0.25; "
        "0 = exact): agents that start together drift apart, as a real fleet does, instead of sending "
        "their requests in lockstep",
    )
    g.add_argument(
        "--resend-instructions",
        action="store_true",
        default=False,
        help="chained strategies also resend instructions and tools every turn",
    )
    g.add_argument(
        "--connect-timeout",
        type=float,
        default=DEFAULTS["connect_timeout"],
        help="seconds for TCP connect, TLS and the WebSocket upgrade (default 10)",
    )
    g.add_argument(
        "--first-token-timeout",
        type=float,
        default=DEFAULTS["first_token_timeout"],
        help="seconds from sending a request to its first output token, in all (default 120: a "
        "reasoning model may think that long in silence)",
    )
    g.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULTS["idle_timeout"],
        help="seconds of silence once output flows before the stream counts as stalled (default 60)",
    )
    g.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULTS["max_retries"],
        help="new attempts of a turn after a transient failure (5xx, connection lost, timeout, malformed "
        "stream), with the openai SDK's backoff; a WebSocket agent reconnects and resends the full "
        "context (a recovery) when its connection held the state (default 2, as the SDK)",
    )
    g.add_argument(
        "--uplink-kbps",
        type=float,
        default=DEFAULTS["uplink_kbps"],
        include_in_web_ui=True,
        help="shape each agent's upload rate to this many kbit/s, as on a constrained link (0 = not shaped): "
        "resending the context costs most there",
    )
    g.add_argument(
        "--no-preflight",
        action="store_true",
        default=False,
        help="skip the start-up check that --host answers and accepts the API key (GET /v1/models)",
    )
    g.add_argument(
        "--records",
        default="",
        help="write every turn and task record as JSON lines to this file "
        "(workers add their id before the suffix)",
    )
    g.add_argument("--summary-json", default="", help="write the per-strategy comparison as JSON at the end")
    g.add_argument(
        "--on-429",
        choices=ON_429,
        default=DEFAULTS["on_429"],
        include_in_web_ui=True,
        help="on a 429: honor (wait at least retry-after-ms / retry-after / the reset header, a growing "
        "floor when refused again, with jitter), "
        "retry (own exponential backoff), fail (fail the task)",
    )
    g.add_argument(
        "--max-429-retries",
        type=int,
        default=DEFAULTS["max_429_retries"],
        help="429 waits per turn before the task fails as rate_limited",
    )
    g.add_argument(
        "--task-rate",
        type=float,
        default=DEFAULTS["task_rate"],
        include_in_web_ui=True,
        help="tasks per second each agent starts (open loop, Locust's constant_throughput); "
        "0 = back to back (closed loop)",
    )
    g.add_argument(
        "--start-jitter",
        type=float,
        default=DEFAULTS["start_jitter"],
        help="each agent waits a random 0..this many seconds before its first task (default 1): Locust "
        "spawns a second's agents at one instant, and without this they would all send their first "
        "request together, a burst no real fleet makes (0 = start at once)",
    )
    g.add_argument(
        "--run-id",
        default="",
        help="name of this run in InfluxDB and reports (default: a new timestamped id per test start)",
    )
    g.add_argument(
        "--cpu-warn-percent",
        type=float,
        default=DEFAULTS["cpu_warn_percent"],
        help="warn when a worker's CPU passes this: its timings then include queueing in the generator "
        "(0 = never; Locust's own warning is at 90)",
    )
    add_influx_options(parser)
    add_probe_options(parser)
    with_env_vars(parser, before)


def with_env_vars(parser: Any, before: set[str]) -> None:
    """Every option added since ``before`` also reads ``LOCUST_<NAME>`` (e.g. LOCUST_STRATEGY,
    LOCUST_INFLUX_URL), as Locust's own do: a container or a Kubernetes ConfigMap sets them so."""
    for action in parser._actions:
        if action.dest not in before and action.option_strings and not getattr(action, "env_var", None):
            action.env_var = "LOCUST_" + action.dest.upper()
