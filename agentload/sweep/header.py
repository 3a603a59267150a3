"""What a sweep ran, in words: the report's header block, so every absolute figure reads in its context
(a mock's sped-up time model is not a real endpoint's, and an ingress in Gbit/s is for the pacing
that ran)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
from dataclasses import dataclass
from typing import Any

from ..core.errors import AgentloadError
from ..core.fields import add_arguments, read_options
from ..core.link import parse_link
from ..mock.config import SERVER_PROFILES, LatencyModel
from ..runtime.loop import Loop
from ..runtime.options import RunOptions
from ..workload import builtin_task_names, load_tasks
from ..workload.profile import MINIMAL
from .spec import NONE, SUBAGENT_TASKS, SweepSpec


def cell_options(spec: SweepSpec) -> RunOptions:
    """The agentload options every cell ran with (those given after ``--``)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser, RunOptions)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            ns, _ = parser.parse_known_args(spec.locust_args)
        return read_options(RunOptions, ns)
    except (SystemExit, AgentloadError):
        return RunOptions()


def latency_model(spec: SweepSpec) -> str:
    if spec.host:
        return "the endpoint's own (a real endpoint)"
    m = LatencyModel()
    return (
        f"the embedded mock's realistic model: TTFT {m.ttft_ms:g} ms, prefill {m.prefill_ms_per_1k:g} ms per 1k "
        f"uncached tokens ({m.cached_ms_per_1k:g} cached), {m.output_tps:g} output tokens/s, reasoning at the "
        f"same token rate{_scaled(spec)}"
    )


def server_profile(spec: SweepSpec) -> str:
    if spec.host:
        return "the endpoint's own"
    c = SERVER_PROFILES[spec.server_profile]
    if not c.enabled:
        return "none (the mock's work costs only what it takes)"
    return (
        f"{spec.server_profile}: admission {c.admission_ms:g} ms per new HTTP request or WebSocket upgrade, "
        f"ingest {c.ingest_ms_per_kb:g} ms per KB of body, {c.reasoning_item_ms:g} ms per resent reasoning item, "
        f"store load {c.store_load_ms:g} ms, prompt {c.prompt_ms_per_1k:g} ms per 1k tokens the server rebuilds "
        f"(fitted by agentload calibrate){_scaled(spec)}"
    )


def _scaled(spec: SweepSpec) -> str:
    s = spec.time_scale
    return "" if s == 1 else f"; all at x{s:g} time (its shape kept, {1 / s:g} times faster than real time)"


def links(spec: SweepSpec) -> str:
    out = []
    for text in spec.links:
        link = parse_link(text)
        out.append("none (loopback as it is)" if link is None else link.describe())
    scale = spec.link_scale
    return "; ".join(out) + (
        f"; at x{scale:g} time (round trips x{scale:g}, rates x{1 / scale:g})"
        if scale != 1 and any(spec.links)
        else ""
    )


def _limit(s: SweepSpec) -> str:
    return f"; at most {s.max_connections} WebSocket connections per key" if s.max_connections else ""


def agents_per_user(s: SweepSpec, o: RunOptions) -> str:
    """How many agents each Locust user (an engineer) ran: per cell when the sweep varied it."""
    if s.agents_per_user != [1]:
        return (
            "per cell: " + ", ".join(str(n) for n in s.agents_per_user) + " (agents per cell count engineers)"
        )
    n = o.agents_per_user
    return "1 (a user is one agent)" if n == 1 else f"{n} (agents per cell count engineers)"


def subagents(s: SweepSpec) -> str:
    if s.subagents == [NONE]:
        return "the tasks' own"
    return "per cell: " + ", ".join(
        "none (the tasks above)" if v == NONE else f"{v} ({SUBAGENT_TASKS[v]}: three subagents)"
        for v in s.subagents
    )


def compression(o: RunOptions) -> str:
    ws = "permessage-deflate" + f" ({o.ws_window_bits} bits)" if o.ws_compression != "off" else "none"
    http = o.http_compression.value if o.http_compression != "off" else "none"
    replies = o.http_accept_encoding.value if o.http_accept_encoding != "off" else "none"
    return f"WebSocket frames: {ws}; HTTP request bodies: {http}; HTTP replies: {replies}"


def client_profiles(s: SweepSpec, o: RunOptions) -> str:
    """The request shape the cells' agents sent: --client-profile, else each task's own."""
    if o.client_profile:
        return f"{o.client_profile} (--client-profile)"
    try:
        tasks = load_tasks(builtin_task_names() if s.tasks == ["all"] else list(s.tasks))
    except AgentloadError:
        return "each task's own"
    names = sorted({(t.client_profile or MINIMAL).name for t in tasks})
    return ", ".join(names) + (
        " (the tasks' own)" if names != [MINIMAL.name] else " (the published harness's shape)"
    )


@dataclass(frozen=True)
class Header:
    spec: SweepSpec
    started_at: float | None

    @functools.cached_property
    def options(self) -> RunOptions:
        """(parsed once: the header's items, its loop and its JSON all read them)"""
        return cell_options(self.spec)

    @property
    def loop(self) -> Loop:
        o = self.options
        return Loop.of(o.task_rate, o.session_rate, o.burstiness)

    def items(self) -> list[tuple[str, str]]:
        s, o = self.spec, self.options
        cell = f"{s.warmup_s:g} s warm-up + {s.duration_s:g} s measured"
        if s.task_target:
            cell += f", or until {s.task_target} tasks started after the warm-up finished"
        effort = o.reasoning_effort or "the model's default"
        items = [
            ("target", s.host or "the embedded mock (agentload mock, on this machine)" + _limit(s)),
            ("latency model", latency_model(s)),
            ("server profile", server_profile(s)),
            ("client profile", client_profiles(s, o)),
            ("strategies", ", ".join(s.strategies)),
            ("agents per cell", ", ".join(str(a) for a in s.agents)),
            ("agents per user", agents_per_user(s, o)),
            ("subagents", subagents(s)),
            ("loop", self.loop.describe()),
            ("cell length", cell),
            ("tasks", ", ".join(s.tasks)),
            ("models", f"{', '.join(s.models)} (reasoning effort: {effort})"),
            ("tool latency", f"x{s.tool_latency_scale:g} of each task's"),
            (
                "compression",
                compression(o) if s.compressions == ["off"] else "per cell: " + ", ".join(s.compressions),
            ),
            ("links", links(s)),
            ("local worker processes", "the master's own workers" if s.master_url else str(s.processes)),
        ]
        if s.slo:
            items.append(("objectives (--slo)", s.slo))
        return items

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.items()},
            "loop_kind": self.loop.kind.value,
            "started_at": self.started_at,
        }
