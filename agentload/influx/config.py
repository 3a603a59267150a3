"""InfluxDB output settings: the --influx-* options (one field table) and the checked config made of them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import AgentloadError
from ..core.fields import add_arguments, opt, read_options
from .senders import InfluxTarget
from .writer import WriterSettings

TOKEN_ENV = "INFLUX_TOKEN"
GROUP = "agentload InfluxDB output (every worker writes its own points)"
_WRITER = WriterSettings()  # the writer's defaults are the options' defaults (one place: writer.py)


@dataclass(frozen=True)
class InfluxOptions:
    influx_url: str = opt("", "InfluxDB base URL, e.g. http://127.0.0.1:8086 (default: no InfluxDB)")
    influx_org: str = opt("", "organization (v2 API; required unless --influx-db)")
    influx_bucket: str = opt("agentload", "bucket (v2 API)")
    influx_db: str = opt("", "database: write InfluxDB 1.x line protocol to /write instead of v2")
    influx_rp: str = opt("", "retention policy (with --influx-db)")
    influx_token: str = opt(
        "", f"API token, or user:password for 1.x (prefer the {TOKEN_ENV} environment variable)"
    )
    influx_batch: int = opt(_WRITER.batch_size, "points per write request", above=0)
    influx_flush_interval: float = opt(
        _WRITER.flush_interval_s, "seconds a partial batch waits before it is sent", above=0
    )
    influx_buffer: int = opt(
        _WRITER.max_buffer,
        "points held while InfluxDB is slow or down; past this, points are dropped and counted",
        above=0,
    )
    influx_interval: float = opt(5.0, "seconds between a worker's throughput points", above=0)
    influx_flush_timeout: float = opt(
        30.0,
        "seconds to keep retrying buffered points at the end of a run before counting them dropped",
        minimum=0,
    )


def add_influx_options(parser: Any) -> None:
    add_arguments(parser, InfluxOptions, title=GROUP, locust=True)


@dataclass(frozen=True)
class InfluxConfig:
    target: InfluxTarget
    writer: WriterSettings
    interval_s: float
    flush_timeout_s: float


def influx_config(namespace: Any) -> InfluxConfig | None:
    """The InfluxDB settings from parsed options, or None when --influx-url is not given."""
    o = read_options(InfluxOptions, namespace)
    url = o.influx_url.strip()
    if not url:
        given = [flag for flag, v in (("--influx-db", o.influx_db), ("--influx-org", o.influx_org),
                                      ("--influx-rp", o.influx_rp), ("--influx-token", o.influx_token)) if v]  # fmt: skip
        if given:  # (they would be ignored: a run the user thinks writes to InfluxDB, and does not)
            raise AgentloadError(f"{given[0]}: needs --influx-url (e.g. --influx-url http://127.0.0.1:8086)")
        return None
    u = urlsplit(url)
    try:
        port_ok = u.port is None or u.port > 0
    except ValueError:
        port_ok = False
    if u.scheme not in ("http", "https") or not u.hostname or not port_ok:
        raise AgentloadError(f"--influx-url: {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8086)")
    if not o.influx_db and not o.influx_org:
        raise AgentloadError(
            "--influx-org: required for the InfluxDB v2 API (or give --influx-db NAME for InfluxDB 1.x)"
        )
    if not o.influx_db and not o.influx_bucket:
        raise AgentloadError("--influx-bucket: must not be empty")
    if o.influx_buffer < o.influx_batch:
        raise AgentloadError(f"--influx-buffer: must be at least --influx-batch ({o.influx_batch})")
    token = (o.influx_token or os.environ.get(TOKEN_ENV, "")) or None
    return InfluxConfig(
        target=InfluxTarget(
            url=url, org=o.influx_org, bucket=o.influx_bucket, db=o.influx_db, rp=o.influx_rp, token=token
        ),
        writer=WriterSettings(
            batch_size=o.influx_batch, flush_interval_s=o.influx_flush_interval, max_buffer=o.influx_buffer
        ),
        interval_s=o.influx_interval,
        flush_timeout_s=o.influx_flush_timeout,
    )
