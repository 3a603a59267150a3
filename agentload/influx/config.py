"""InfluxDB output settings: the --influx-* flags, their defaults, and their validation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import AgentloadError
from .senders import InfluxTarget
from .writer import WriterSettings

TOKEN_ENV = "INFLUX_TOKEN"
DEFAULTS = {
    "influx_bucket": "agentload",
    "influx_batch": 5000,
    "influx_flush_interval": 1.0,
    "influx_buffer": 200_000,
    "influx_interval": 5.0,
    "influx_flush_timeout": 30.0,
}


def add_influx_options(parser: Any) -> None:
    g = parser.add_argument_group("agentload InfluxDB output (every worker writes its own points)")
    g.add_argument(
        "--influx-url",
        default="",
        help="InfluxDB base URL, e.g. http://127.0.0.1:8086 (default: no InfluxDB)",
    )
    g.add_argument("--influx-org", default="", help="organization (v2 API; required unless --influx-db)")
    g.add_argument("--influx-bucket", default=DEFAULTS["influx_bucket"], help="bucket (v2 API)")
    g.add_argument(
        "--influx-db", default="", help="database: write InfluxDB 1.x line protocol to /write instead of v2"
    )
    g.add_argument("--influx-rp", default="", help="retention policy (with --influx-db)")
    g.add_argument(
        "--influx-token",
        default="",
        help=f"API token, or user:password for 1.x (prefer the {TOKEN_ENV} environment variable)",
    )
    g.add_argument(
        "--influx-batch", type=int, default=DEFAULTS["influx_batch"], help="points per write request"
    )
    g.add_argument(
        "--influx-flush-interval",
        type=float,
        default=DEFAULTS["influx_flush_interval"],
        help="seconds a partial batch waits before it is sent",
    )
    g.add_argument(
        "--influx-buffer",
        type=int,
        default=DEFAULTS["influx_buffer"],
        help="points held while InfluxDB is slow or down; past this, points are dropped and counted",
    )
    g.add_argument(
        "--influx-interval",
        type=float,
        default=DEFAULTS["influx_interval"],
        help="seconds between a worker's throughput points",
    )
    g.add_argument(
        "--influx-flush-timeout",
        type=float,
        default=DEFAULTS["influx_flush_timeout"],
        help="seconds to keep retrying buffered points at the end of a run before counting them dropped",
    )


@dataclass(frozen=True)
class InfluxConfig:
    target: InfluxTarget
    writer: WriterSettings
    interval_s: float
    flush_timeout_s: float


def influx_config(o: Any) -> InfluxConfig | None:
    """The InfluxDB settings from parsed options, or None when --influx-url is not given."""
    url = (getattr(o, "influx_url", "") or "").strip()
    if not url:
        return None
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise AgentloadError(f"--influx-url: {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8086)")
    db = getattr(o, "influx_db", "") or ""
    org = getattr(o, "influx_org", "") or ""
    bucket = getattr(o, "influx_bucket", "") or ""
    if not db and not org:
        raise AgentloadError(
            "--influx-org: required for the InfluxDB v2 API (or give --influx-db NAME for InfluxDB 1.x)"
        )
    if not db and not bucket:
        raise AgentloadError("--influx-bucket: must not be empty")
    numbers = {
        "--influx-batch": getattr(o, "influx_batch", DEFAULTS["influx_batch"]),
        "--influx-buffer": getattr(o, "influx_buffer", DEFAULTS["influx_buffer"]),
        "--influx-flush-interval": getattr(o, "influx_flush_interval", DEFAULTS["influx_flush_interval"]),
        "--influx-interval": getattr(o, "influx_interval", DEFAULTS["influx_interval"]),
    }
    for flag, value in numbers.items():
        if not value or value <= 0:
            raise AgentloadError(f"{flag}: must be more than 0 (got {value})")
    flush_timeout = float(getattr(o, "influx_flush_timeout", DEFAULTS["influx_flush_timeout"]))
    if flush_timeout < 0:
        raise AgentloadError(f"--influx-flush-timeout: must be 0 or more (got {flush_timeout})")
    batch, buffer = int(numbers["--influx-batch"]), int(numbers["--influx-buffer"])
    if buffer < batch:
        raise AgentloadError(f"--influx-buffer: must be at least --influx-batch ({batch})")
    token = (getattr(o, "influx_token", "") or os.environ.get(TOKEN_ENV, "")) or None
    return InfluxConfig(
        target=InfluxTarget(
            url=url, org=org, bucket=bucket, db=db, rp=getattr(o, "influx_rp", "") or "", token=token
        ),
        writer=WriterSettings(
            batch_size=batch,
            flush_interval_s=float(numbers["--influx-flush-interval"]),
            max_buffer=buffer,
        ),
        interval_s=float(numbers["--influx-interval"]),
        flush_timeout_s=flush_timeout,
    )
