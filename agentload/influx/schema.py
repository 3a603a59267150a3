"""The InfluxDB schema: measurement names, tags and fields, as line protocol.

This module is the one place that knows how a record becomes a point. The Grafana dashboard in
deploy/grafana and the tests read their measurement, tag and field names from here.

Tags are bounded by construction (run, worker process, strategy, task, model, target host, outcome,
client profile, link, turn index): never an agent id, never a key. Everything per agent is a field. Numbers are exact:
floats are written with ``repr`` (shortest round-trip form, so a TTFT of 412.3071 ms reads back as
412.3071), integers with the ``i`` suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.records import TaskRecord, TurnRecord
from ..core.sessions import LimitType, Session

TURN = "agentload_turn"
TASK = "agentload_task"
THROUGHPUT = "agentload_throughput"
RUN = "agentload_run"
PROBE = "agentload_probe"
SLO = "agentload_slo"  # one point per strategy and objective (--slo), at the end of the run
SESSION = "agentload_session"  # one point per session with subagents, when its root task ends
MEASUREMENTS = (TURN, TASK, THROUGHPUT, RUN, PROBE, SLO, SESSION)

# tag keys (besides the common ones) per measurement
COMMON_TAGS = ("run_id", "worker", "host")
RECORD_TAGS = ("strategy", "task", "model", "outcome", "profile", "link")  # (link: "" is left out)
TURN_TAGS = (*RECORD_TAGS, "turn")
OK = "ok"  # the outcome tag of a successful turn or task; failures carry their ErrorKind

TURN_INT_FIELDS = (
    "bytes_sent",
    "bytes_received",
    "payload_bytes_sent",
    "payload_bytes_received",
    "connect_bytes_sent",
    "connect_bytes_received",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "tool_calls",
    "events",
    "agent",
    "task_seq",
    "attempt",
)
TURN_FLOAT_FIELDS = (
    "duration_ms",
    "ttft_ms",
    "client_lag_ms",
    "wait_ms",
    "rl_reset_requests_ms",
    "rl_reset_tokens_ms",
    "retry_after_ms",
)
TURN_OPTIONAL_INT_FIELDS = ("rl_remaining_requests", "rl_remaining_tokens", "http_status")
# (the token fields of TURN_INT_FIELDS are not written for a turn whose server reported no usage:
# unknown, not 0; the task's usage_unknown_turns counts those turns)
TASK_INT_FIELDS = (
    "turns",
    "payload_bytes_sent",
    "payload_bytes_received",
    "tool_calls",
    "bytes_sent",
    "bytes_received",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "usage_unknown_turns",
    "recoveries",
    "retries",
    "rate_limited",
    "agent",
    "task_seq",
)
TASK_FLOAT_FIELDS = ("duration_ms", "tool_time_ms", "ttft_first_ms", "ttft_max_ms", "rate_limit_wait_ms")
# a session's fields: its root's wall time, sums over the root and its subagents, 429s by type
SESSION_INT_FIELDS = ("bytes_sent", "bytes_received", "tasks", "subagents", "connects", "agent", "task_seq")
SESSION_FLOAT_FIELDS = ("duration_ms", "subagent_ms")
SESSION_LIMIT_FIELDS = tuple(f"rate_limited_{t}" for t in LimitType)  # written when not 0
THROUGHPUT_FIELDS = (
    "interval_s",
    "turns",
    "tasks",
    "turns_per_s",
    "tasks_per_s",
    "bytes_sent_per_s",
    "bytes_received_per_s",
    "errors",
    "rate_limited",
    "active_agents",
    "cpu_percent",
)


def _escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_str_field(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return _escape_str_field(str(value))


def line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, object], ts_ns: int) -> str:
    """One line of line protocol; tags sorted (InfluxDB's fast path), None fields and empty tags left out."""
    tag_part = "".join(f",{k}={_escape_tag(v)}" for k, v in sorted(tags.items()) if v != "")
    field_part = ",".join(f"{k}={_field(v)}" for k, v in fields.items() if v is not None)
    return f"{measurement}{tag_part} {field_part} {ts_ns}"


@dataclass(frozen=True)
class PointTags:
    """The tags every point of one Locust process shares."""

    run_id: str
    worker: str
    host: str

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in COMMON_TAGS}


def _record_tags(rec: TurnRecord | TaskRecord, common: PointTags, keys: tuple[str, ...]) -> dict[str, str]:
    """The common tags and a record's own (``keys``: RECORD_TAGS or TURN_TAGS), as strings; the outcome
    is ``ok`` or the failure's kind."""
    own: dict[str, Any] = {k: getattr(rec, k) for k in keys if k != "outcome"}
    own["outcome"] = OK if rec.ok else (rec.error_kind or "error")
    return {**common.as_dict(), **{k: str(v) for k, v in own.items()}}


def turn_line(rec: TurnRecord, common: PointTags, ts_ns: int) -> str:
    tags = _record_tags(rec, common, TURN_TAGS)
    fields: dict[str, object] = {k: getattr(rec, k) for k in TURN_FLOAT_FIELDS}
    fields.update({k: getattr(rec, k) for k in TURN_INT_FIELDS})
    fields["ok"] = int(rec.ok)
    fields["recovery"] = int(rec.recovery)
    fields.update({k: getattr(rec, k) for k in TURN_OPTIONAL_INT_FIELDS})
    fields["started_at"] = rec.started_at
    if rec.error_code:
        fields["error_code"] = rec.error_code
    if rec.error_type:
        fields["error_type"] = rec.error_type
    return line(TURN, tags, fields, ts_ns)


def task_line(rec: TaskRecord, common: PointTags, ts_ns: int) -> str:
    tags = _record_tags(rec, common, RECORD_TAGS)
    fields: dict[str, object] = {k: getattr(rec, k) for k in TASK_FLOAT_FIELDS}
    fields.update({k: getattr(rec, k) for k in TASK_INT_FIELDS})
    fields["ok"] = int(rec.ok)
    fields["started_at"] = rec.started_at
    return line(TASK, tags, fields, ts_ns)


def session_line(s: Session, common: PointTags, ts_ns: int) -> str:
    """A session (its root task's tags; outcome the root's): what a root task and its subagents took
    together, so a session's bytes and subagents read from one point, not a sum over task points."""
    r = s.root
    tags = _record_tags(r, common, RECORD_TAGS)
    fields: dict[str, object] = {
        "duration_ms": r.duration_ms,
        "subagent_ms": s.subagent_ms,
        "bytes_sent": s.sent,
        "bytes_received": s.received,
        "tasks": s.tasks,
        "subagents": s.subagents,
        "connects": s.connects,  # WebSocket connections its turns opened
        "agent": r.agent,
        "task_seq": r.task_seq,
    }
    fields.update({f"rate_limited_{k}": v for k, v in s.limited.items() if v})
    fields["ok"] = int(r.ok)
    fields["started_at"] = r.started_at
    return line(SESSION, tags, fields, ts_ns)


def throughput_line(common: PointTags, fields: Mapping[str, object], ts_ns: int) -> str:
    unknown = set(fields) - set(THROUGHPUT_FIELDS)
    if unknown:  # one place for the schema: a new field is added above first
        raise ValueError(f"throughput fields not in the schema: {sorted(unknown)}")
    return line(THROUGHPUT, common.as_dict(), fields, ts_ns)


def run_line(common: PointTags, event: str, fields: Mapping[str, object], ts_ns: int) -> str:
    return line(RUN, {**common.as_dict(), "event": event}, fields, ts_ns)


SLO_FIELDS = ("limit", "value", "met", "good_tasks", "goodput_tasks_per_s", "tasks")


def slo_line(
    common: PointTags, strategy: str, objective: str, fields: Mapping[str, object], ts_ns: int
) -> str:
    """One objective as evaluated on one strategy's figures at the end of the run, with the goodput."""
    unknown = set(fields) - set(SLO_FIELDS)
    if unknown:
        raise ValueError(f"slo fields not in the schema: {sorted(unknown)}")
    return line(SLO, {**common.as_dict(), "strategy": strategy, "objective": objective}, fields, ts_ns)


def probe_line(common: PointTags, step: int, fields: Mapping[str, object], ts_ns: int) -> str:
    """One probe step as the master measured it (fields: agents, rpm, tpm, ratio_429, ...)."""
    return line(PROBE, {**common.as_dict(), "step": str(step)}, fields, ts_ns)
