"""What a sweep runs: its matrix (strategies x agents x agents per user x subagents x tasks x models x links
x compression) and each cell of it."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import AgentloadError
from ..core.link import LinkSpecError, link_text, parse_link, uplink_only, uplink_text
from ..core.strategies import BASELINE, BY_NAME, NAMES, order
from ..metrics.slo import Objective, parse_slo
from ..mock.config import SERVER_PROFILES
from ..runtime.options import MAX_AGENTS_PER_USER
from ..workload import builtin_task_names, load_tasks
from ..workload.files import TASK_SUFFIXES

OFF = "off"
NONE = "none"
# a subagents variant and the built-in task its cells run instead of their --task: a lead agent that
# spawns three subagents (workload/builtin/subagents); "none" runs the cell's --task as it is
SUBAGENT_TASKS = {"forks": "fan-out-forks", "fresh": "fan-out-fresh"}
# the embedded mock for sweeps: the realistic latency model and a server profile, their time scaled
# (--time-scale: 0.1 by default, as the tools' --tool-latency-scale) so a task takes seconds, its shape kept
DEFAULT_TIME_SCALE = 0.1
DEFAULT_SERVER_PROFILE = "openai-like"


def mock_args(spec: SweepSpec) -> list[str]:
    """The embedded mock's options for a sweep."""
    limit = ["--max-connections", str(spec.max_connections)] if spec.max_connections else []
    return ["--time-scale", f"{spec.time_scale:g}", "--server-profile", spec.server_profile, *limit]


@dataclass(frozen=True)
class CellSpec:
    """One point of the sweep matrix: one Locust run."""

    strategy: str
    agents: int
    task: str
    model: str
    link: str = ""  # the agents' link (core.link's text, before the sweep's time scale); "" for none
    compression: str = OFF  # what the agents compress: "off", or "deflate", "gzip", "zstd" joined by "+"
    # each Locust user (an engineer) runs this many agents at once (--agents-per-user); agents counts users
    agents_per_user: int = 1
    subagents: str = NONE  # "none", or a SUBAGENT_TASKS variant (its task is then that built-in one)

    @property
    def id(self) -> str:
        """Unique in the sweep; a dimension at its default adds nothing, so older sweeps' ids hold."""
        task = Path(self.task).stem if self.task.endswith(TASK_SUFFIXES) else self.task
        comp = f"-c{self.compression}" if self.compression != OFF else ""
        per_user = f"-x{self.agents_per_user}" if self.agents_per_user != 1 else ""
        subs = f"-s{self.subagents}" if self.subagents != NONE else ""
        return (
            f"{self.strategy}-a{self.agents}{per_user}-{task}-{self.model}{_link_id(self.link)}{comp}{subs}"
        ).replace("/", "_")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellSpec:
        """A cell as cells.jsonl keeps it (an older one's ``uplink_kbps`` read as its link)."""
        d = dict(d)
        if "uplink_kbps" in d:
            d.setdefault("link", uplink_text(float(d.pop("uplink_kbps") or 0)))
        return cls(**d)

    @property
    def variant(self) -> str:
        """What the row's label shows beside the strategy and link: the agents per user ("x8"), the
        subagents ("forks") and the compression, those not at their default ("" when none is); the
        report pools cells and compares strategies within one variant."""
        parts = [
            f"x{self.agents_per_user}" if self.agents_per_user != 1 else "",
            self.subagents if self.subagents != NONE else "",
            self.compression if self.compression != OFF else "",
        ]
        return " ".join(p for p in parts if p)

    @property
    def agents_total(self) -> int:
        """The agents at work at once: the users times each one's agents."""
        return self.agents * self.agents_per_user


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
    links: list[str] = field(default_factory=lambda: [""])  # "" for none: loopback as it is
    compressions: list[str] = field(default_factory=lambda: [OFF])
    agents_per_user: list[int] = field(default_factory=lambda: [1])  # (older sweep.json: the default)
    subagents: list[str] = field(default_factory=lambda: [NONE])
    duration_s: float = 60.0
    task_target: int = 0  # > 0: end a cell once this many tasks started after the warm-up have finished
    warmup_s: float = 10.0
    processes: int = 2
    host: str = ""  # empty: the embedded mock
    tool_latency_scale: float = 0.1
    locust_args: list[str] = field(default_factory=list)
    master_url: str = ""  # a running Locust master's web UI (started with --class-picker): drive it instead
    slo: str = ""  # objectives, as --slo takes them: checked per strategy and per cell
    time_scale: float = DEFAULT_TIME_SCALE  # the embedded mock's modelled time and the links', x this
    server_profile: str = DEFAULT_SERVER_PROFILE  # the embedded mock's (mock.config.SERVER_PROFILES)
    max_connections: int = 0  # the embedded mock's WebSocket connections per key (0: no limit)
    baseline: str = ""  # what the report compares against; "" for http-stateless, or the first that ran

    @property
    def report_baseline(self) -> str:
        """The strategy the report's changes are against: the one given, else http-stateless when it
        ran, else the sweep's first strategy (so ws against ws-mux reports without naming one)."""
        if self.baseline:
            return self.baseline
        return BASELINE if BASELINE in self.strategies else sorted(self.strategies, key=order)[0]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SweepSpec:
        """A spec as sweep.json keeps it (an older one's ``uplinks_kbps`` read as links)."""
        d = dict(d)
        if "uplinks_kbps" in d:
            d.setdefault("links", [uplink_text(float(u or 0)) for u in d.pop("uplinks_kbps")])
        return cls(**d)

    @property
    def link_scale(self) -> float:
        """The links' time scale: the mock's, when the sweep runs its own; real time against --host."""
        return 1.0 if self.host else self.time_scale

    def cell_link(self, cell: CellSpec) -> str:
        """The ``--link`` a cell's agents run with: its link at the sweep's time scale."""
        spec = parse_link(cell.link)
        if spec is None:
            return ""
        return spec.scaled(self.link_scale).text

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return parse_slo(self.slo)

    def cells(self) -> list[CellSpec]:
        """Every cell; a subagents variant runs its built-in task in place of the --task list (once)."""
        out: list[CellSpec] = []
        for sub, t, m, c, u, a, n, s in itertools.product(
            self.subagents,
            self.tasks,
            self.models,
            self.compressions,
            self.links,
            self.agents,
            self.agents_per_user,
            self.strategies,
        ):
            if sub != NONE and t != self.tasks[0]:
                continue
            out.append(CellSpec(s, a, SUBAGENT_TASKS.get(sub, t), m, u, c, n, sub))
        return out

    def validate(self) -> None:
        unknown = [s for s in self.strategies if s not in BY_NAME]
        if unknown:
            raise AgentloadError(f"--strategies: unknown {unknown[0]!r} (use: {', '.join(NAMES)})")
        if not self.agents or any(a < 1 for a in self.agents):
            raise AgentloadError("--agents: give whole numbers of 1 or more, e.g. 4,16,64")
        if not self.agents_per_user or any(not 1 <= n <= MAX_AGENTS_PER_USER for n in self.agents_per_user):
            raise AgentloadError(
                f"--agents-per-user: give whole numbers from 1 to {MAX_AGENTS_PER_USER}, e.g. 1,4,8"
            )
        for sub in self.subagents:
            if sub != NONE and sub not in SUBAGENT_TASKS:
                raise AgentloadError(
                    f"--subagents: unknown {sub!r} (use {', '.join([NONE, *SUBAGENT_TASKS])}, e.g. none,forks)"
                )
        if self.max_connections < 0:
            raise AgentloadError("--max-connections: 0 (no limit) or more WebSocket connections per key")
        if self.max_connections and self.host:
            raise AgentloadError("--max-connections: sets the embedded mock's limit; not with --host")
        if self.baseline and self.baseline not in self.strategies:
            raise AgentloadError(
                f"--baseline: {self.baseline!r} is not among the sweep's --strategies ({', '.join(self.strategies)})"
            )
        for c in self.compressions:
            check_compression(c)
        for i, text in enumerate(self.links):
            try:
                spec = parse_link(text)
            except LinkSpecError as e:
                raise AgentloadError(f"--link: {e}") from None
            self.links[i] = link_text(spec)  # (one text per link: its cells' ids and rows' labels)
        if not math.isfinite(self.time_scale) or self.time_scale <= 0:
            raise AgentloadError("--time-scale: above 0 (0.1: ten times faster than real time)")
        if self.server_profile not in SERVER_PROFILE_NAMES:
            raise AgentloadError(
                f"--server-profile: unknown {self.server_profile!r} (use {', '.join(SERVER_PROFILE_NAMES)})"
            )
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


SERVER_PROFILE_NAMES = tuple(SERVER_PROFILES)


def _link_id(link: str) -> str:
    """A link's part of a cell id: ``-up512k`` for an uplink alone (as older sweeps named it), else
    ``-l`` and the link's text."""
    if not link:
        return ""
    spec = parse_link(link)
    if spec is not None and spec == uplink_only(spec.up_kbps):
        return f"-up{spec.up_kbps:g}k"
    return "-l" + re.sub(r"[^A-Za-z0-9.%]+", "-", link)


def parse_list(flag: str, text: str, kind: type = str) -> list[Any]:
    try:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AgentloadError(f"{flag}: {text!r} is not a comma-separated list of {kind.__name__}") from None
    if not values:
        raise AgentloadError(f"{flag}: empty; give one value or more, comma-separated")
    return values
