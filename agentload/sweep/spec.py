"""What a sweep runs: its matrix (strategies x agents x tasks x models x uplinks) and each cell of it."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import AgentloadError
from ..core.strategies import BY_NAME, NAMES
from ..metrics.slo import Objective, parse_slo
from ..workload import builtin_task_names, load_tasks
from ..workload.files import TASK_SUFFIXES

OFF = "off"
# the embedded mock's latency for sweeps: realistic shape, sped up so a 10-turn task takes seconds
SWEEP_MOCK_ARGS = [
    "--ttft-ms", "250", "--prefill-ms-per-1k", "20", "--cached-ms-per-1k", "2", "--output-tps", "1000",
]  # fmt: skip


@dataclass(frozen=True)
class CellSpec:
    """One point of the sweep matrix: one Locust run."""

    strategy: str
    agents: int
    task: str
    model: str
    uplink_kbps: float = 0.0
    compression: str = OFF  # what the agents compress: "off", or "deflate", "gzip", "zstd" joined by "+"

    @property
    def id(self) -> str:
        task = Path(self.task).stem if self.task.endswith(TASK_SUFFIXES) else self.task
        up = f"-up{self.uplink_kbps:g}k" if self.uplink_kbps else ""
        comp = f"-c{self.compression}" if self.compression != OFF else ""
        return f"{self.strategy}-a{self.agents}-{task}-{self.model}{up}{comp}".replace("/", "_")

    @property
    def variant(self) -> str:
        """The compression as a row's label shows it ("" when off)."""
        return "" if self.compression == OFF else self.compression


# a compression variant's parts, and the agent options each one sets
COMPRESSION_ARGS = {
    "deflate": ("--ws-compression", "deflate"),
    "gzip": ("--http-compression", "gzip"),
    "zstd": ("--http-compression", "zstd"),
    "gzip-replies": ("--http-accept-encoding", "gzip"),
    "zstd-replies": ("--http-accept-encoding", "zstd"),
}


def compression_args(variant: str) -> list[str]:
    """The Locust options of a compression variant ("deflate+gzip": both sides)."""
    if variant == OFF:
        return []
    return [a for part in variant.split("+") for a in COMPRESSION_ARGS[part]]


def check_compression(variant: str) -> None:
    parts = variant.split("+")
    if variant != OFF and (
        not all(p in COMPRESSION_ARGS for p in parts)
        or sum(p in ("gzip", "zstd") for p in parts) > 1
        or sum(p.endswith("-replies") for p in parts) > 1
    ):
        raise AgentloadError(
            f"--compression: {variant!r} is not off, or deflate, gzip, zstd, gzip-replies, zstd-replies joined "
            "by + (e.g. off,deflate+gzip+gzip-replies; one of gzip and zstd, one of the -replies)"
        )


@dataclass
class SweepSpec:
    strategies: list[str]
    agents: list[int]
    tasks: list[str]
    models: list[str]
    uplinks_kbps: list[float] = field(default_factory=lambda: [0.0])
    compressions: list[str] = field(default_factory=lambda: [OFF])
    duration_s: float = 60.0
    task_target: int = 0  # > 0: end a cell once this many tasks started after the warm-up have finished
    warmup_s: float = 10.0
    processes: int = 2
    host: str = ""  # empty: the embedded mock
    tool_latency_scale: float = 0.1
    locust_args: list[str] = field(default_factory=list)
    master_url: str = ""  # a running Locust master's web UI (started with --class-picker): drive it instead
    slo: str = ""  # objectives, as --slo takes them: checked per strategy and per cell

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return parse_slo(self.slo)

    def cells(self) -> list[CellSpec]:
        return [
            CellSpec(s, a, t, m, u, c)
            for t, m, c, u, a, s in itertools.product(
                self.tasks, self.models, self.compressions, self.uplinks_kbps, self.agents, self.strategies
            )
        ]

    def validate(self) -> None:
        unknown = [s for s in self.strategies if s not in BY_NAME]
        if unknown:
            raise AgentloadError(f"--strategies: unknown {unknown[0]!r} (use: {', '.join(NAMES)})")
        if not self.agents or any(a < 1 for a in self.agents):
            raise AgentloadError("--agents: give whole numbers of 1 or more, e.g. 4,16,64")
        for c in self.compressions:
            check_compression(c)
        if any(u < 0 for u in self.uplinks_kbps):
            raise AgentloadError("--uplink-kbps: 0 (not shaped) or more kbit/s")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise AgentloadError("--duration must be more than 0 s and --warmup 0 s or more")
        if self.processes < 1:
            raise AgentloadError("--processes: 1 or more")
        if self.task_target < 0:
            raise AgentloadError("--tasks: 0 (cells end by --duration) or more")
        if not math.isfinite(self.tool_latency_scale) or self.tool_latency_scale < 0:
            raise AgentloadError("--tool-latency-scale: 0 (no tool time) or more")
        for flag, url in (("--host", self.host), ("--master-url", self.master_url)):
            u = urlsplit(url)
            if url and (u.scheme not in ("http", "https") or not u.hostname):
                raise AgentloadError(f"{flag}: {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000)")
        self.objectives  # noqa: B018 (a bad --slo fails here, with its fix)
        for t in self.tasks:  # a task name or file that does not load fails here, with its fix
            load_tasks(builtin_task_names() if t == "all" else [t])


def parse_list(flag: str, text: str, kind: type = str) -> list[Any]:
    try:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AgentloadError(f"{flag}: {text!r} is not a comma-separated list of {kind.__name__}") from None
    if not values:
        raise AgentloadError(f"{flag}: empty; give one value or more, comma-separated")
    return values
