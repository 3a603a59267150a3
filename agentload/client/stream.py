"""Consumers of the model's streamed events, shared by the HTTP (SSE) and WebSocket transports.

The hot path: most events are output deltas, and the agent only needs the time of the first one. So
an event's type is read without decoding its JSON (from the SSE ``event:`` line, or the leading
``{"type":"...`` of a socket frame), and only terminal events are decoded, and the deltas until the
first one that carries output (the first token is the first non-empty delta, on every API: some
servers open with ``"delta": ""``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..core.protocol import (
    COMPLETED_EVENTS,
    CONNECTION_LIMIT,
    DELTA_EVENTS,
    ERROR_EVENT,
    FAILED_EVENTS,
    INSUFFICIENT_QUOTA,
    PREVIOUS_NOT_FOUND,
    RATE_LIMIT_EXCEEDED,
)
from ..core.records import ErrorKind
from ..core.redact import redact

_TYPE_PREFIX = b'{"type":"'


def event_type(raw: bytes) -> str:
    """The ``type`` of a JSON event, cheaply when it comes first (as OpenAI and the mock send it)."""
    if raw.startswith(_TYPE_PREFIX):
        end = raw.find(b'"', 9)
        if end > 0:
            return raw[9:end].decode()
    try:
        obj = json.loads(raw)
    except ValueError:
        return ""
    return obj.get("type", "") if isinstance(obj, dict) else ""


def has_output(raw: bytes) -> bool:
    """A delta event that carries output: its ``delta`` is not empty. Servers other than OpenAI send
    ``"delta": ""`` (LiteLLM opens a stream so), and the first token is the first piece of output, not
    the first event named a delta. Decoded only until the first token (one small event a turn, most
    often): the deltas after it stay undecoded."""
    obj = json.loads(raw)  # (a ValueError is a malformed event, as anywhere in a stream)
    return not isinstance(obj, dict) or obj.get("delta") not in ("", None)


@dataclass
class FunctionCall:
    call_id: str
    name: str
    arguments: str  # a custom tool call's input, for a custom call
    custom: bool = False  # a custom_tool_call (answered by a custom_tool_call_output)


@dataclass
class TurnOutcome:
    """Everything one request/response exchange produced."""

    t_start: float = field(default_factory=time.perf_counter)
    t_first_token: float | None = None  # when the first delta arrived (see wire/rxstamp.py)
    client_lag_ms: float | None = None  # how long it then waited for its agent; None: not stamped
    t_end: float | None = None
    response_id: str | None = None
    calls: list[FunctionCall] = field(default_factory=list)
    output_items: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    done: bool = False
    ok: bool = False
    error_kind: ErrorKind | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_type: str | None = None  # OpenAI's error.type: for 429s, "requests", "tokens" (or "connections")
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def fail(self, kind: ErrorKind, message: str, code: str | None = None, status: int | None = None) -> None:
        """Ends the exchange as failed. The message is kept without key material (core.redact): a
        server's own words echo what it was sent (a refused key, a gateway's key and its hash), and the
        message reaches Locust's failure table and the line that stops a run."""
        self.done, self.ok = True, False
        self.error_kind, self.error_message, self.error_code = kind, redact(message), code
        if status is not None:
            self.http_status = status
        self.t_end = time.perf_counter()


def kind_for_status(status: int | None, code: str | None = None) -> ErrorKind:
    if code == PREVIOUS_NOT_FOUND:
        return ErrorKind.PREVIOUS_NOT_FOUND
    if code == CONNECTION_LIMIT:
        return ErrorKind.CONNECTION_LIMIT
    if code == INSUFFICIENT_QUOTA:
        return ErrorKind.QUOTA
    if status == 429 or code == RATE_LIMIT_EXCEEDED:
        return ErrorKind.RATE_LIMITED
    if status in (401, 403):
        return ErrorKind.AUTH
    if status in (404, 405, 501) or code == "model_not_found":
        return ErrorKind.NOT_FOUND
    if status is not None and status >= 500:
        return ErrorKind.SERVER
    return ErrorKind.BAD_REQUEST


def error_from_body(out: TurnOutcome, status: int | None, body: bytes) -> None:
    """Fill ``out`` from an OpenAI error body (HTTP) or ``error`` event (socket)."""
    try:
        obj = json.loads(body)
    except ValueError:
        obj = {}
    err = obj.get("error") if isinstance(obj, dict) else None
    err = err if isinstance(err, dict) else {}
    if status is None and isinstance(obj, dict) and isinstance(obj.get("status"), int):
        status = obj["status"]
    code = err.get("code") if isinstance(err.get("code"), str) else None
    message = str(err.get("message") or f"HTTP {status}")[:300]
    out.fail(kind_for_status(status, code), message, code, status)
    if isinstance(err.get("type"), str):
        out.error_type = err["type"]
    # a socket error carries its headers at the top level (and in error.headers); names lower-cased
    hdrs = obj.get("headers") if isinstance(obj, dict) else None
    if not isinstance(hdrs, dict):
        hdrs = err.get("headers")
    if isinstance(hdrs, dict):
        out.headers = {str(k).lower(): str(v) for k, v in hdrs.items()}


class ResponsesConsumer:
    """Feeds Responses API events (SSE or socket) into a TurnOutcome until a terminal event."""

    def __init__(self, out: TurnOutcome) -> None:
        self.out = out

    def feed(self, etype: str, raw: bytes) -> bool:
        """Returns True when the response is finished (completed, failed or error)."""
        out = self.out
        out.events += 1
        if raw[-1:] != b"}" and raw.rstrip()[-1:] != b"}":
            # Deltas after the first token are not decoded (the hot path), but one cut short must not
            # pass as output.
            raise ValueError(f"{etype or 'an'} event's JSON is cut short")
        if etype in DELTA_EVENTS:
            if out.t_first_token is None and has_output(raw):
                out.t_first_token = time.perf_counter()
            return False
        if etype in COMPLETED_EVENTS:
            resp = json.loads(raw).get("response") or {}
            out.t_end = time.perf_counter()
            out.response_id = resp.get("id")
            out.usage = resp.get("usage") or {}
            out.output_items = resp.get("output") or []
            for item in out.output_items:
                kind = item.get("type")
                if kind == "function_call":
                    out.calls.append(FunctionCall(item["call_id"], item["name"], item.get("arguments", "")))
                elif kind == "custom_tool_call":
                    out.calls.append(FunctionCall(item["call_id"], item["name"], item.get("input", ""), True))
                elif kind == "message":
                    out.message = "".join(p.get("text", "") for p in item.get("content") or [])
            out.done = out.ok = True
            return True
        if etype in FAILED_EVENTS:
            resp = json.loads(raw).get("response") or {}
            err = resp.get("error") or resp.get("incomplete_details") or {}
            out.response_id = resp.get("id")
            out.fail(
                ErrorKind.RESPONSE_FAILED,
                str(err.get("message") or err.get("reason") or etype)[:300],
                err.get("code"),
            )
            return True
        if etype == ERROR_EVENT:
            error_from_body(out, None, raw)
            return True
        return False


class ChatConsumer:
    """Assembles a streamed Chat Completions reply (tool calls by index) into a TurnOutcome."""

    def __init__(self, out: TurnOutcome) -> None:
        self.out = out
        self.tool_calls: dict[int, dict[str, str]] = {}
        self.text: list[str] = []
        self.finish: str | None = None

    def feed(self, raw: bytes) -> bool:
        out = self.out
        if raw == b"[DONE]":
            self._finish()
            return True
        out.events += 1
        chunk = json.loads(raw)
        if "error" in chunk:
            error_from_body(out, None, raw)
            return True
        if chunk.get("usage"):
            out.usage = chunk["usage"]
        out.response_id = out.response_id or chunk.get("id")
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self.text.append(content)
            for tc in delta.get("tool_calls") or []:
                slot = self.tool_calls.setdefault(tc.get("index", 0), {"id": "", "name": "", "arguments": ""})
                fn = tc.get("function") or {}
                slot["id"] = tc.get("id") or slot["id"]
                slot["name"] = fn.get("name") or slot["name"]
                piece = fn.get("arguments") or ""
                slot["arguments"] += piece
                if piece and out.t_first_token is None:
                    out.t_first_token = time.perf_counter()
            if content and out.t_first_token is None:
                out.t_first_token = time.perf_counter()
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return False

    def _finish(self) -> None:
        out = self.out
        out.t_end = time.perf_counter()
        out.calls = [
            FunctionCall(s["id"], s["name"], s["arguments"]) for _, s in sorted(self.tool_calls.items())
        ]
        out.message = "".join(self.text) if self.text else None
        u = out.usage
        if u:  # normalize to the Responses usage shape
            out.usage = {
                "input_tokens": u.get("prompt_tokens", 0),
                "output_tokens": u.get("completion_tokens", 0),
                "input_tokens_details": {
                    "cached_tokens": (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
                },
                "output_tokens_details": {
                    "reasoning_tokens": (u.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
                },
            }
        out.done = out.ok = True
