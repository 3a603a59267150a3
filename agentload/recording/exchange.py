"""One model request as the recorder saw it pass: the body the client sent, the events that came back,
and what was measured on the client's side of the proxy (wire and payload bytes both ways, times).

The observers read copies of the bytes; nothing here writes to a connection. Anything they cannot parse
leaves ``unparsed`` set (with the reason), and the proxy keeps that exchange's bytes raw.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..core.protocol import COMPLETED_EVENTS, DELTA_EVENTS, ERROR_EVENT, FAILED_EVENTS


@dataclass
class Exchange:
    conn: int
    via: str  # "http" or "ws"
    path: str
    started: float  # Unix time the request began to arrive
    client: str = ""  # the client's product token (User-Agent), e.g. "codex_exec/0.171.0"
    request: dict[str, Any] | None = None
    bytes_sent: int = 0  # the client's wire bytes for this request (heads, frames, handshake)
    bytes_received: int = 0  # the wire bytes the client got back for it
    payload_sent: int = 0  # the JSON body before compression
    payload_received: int = 0  # the reply's JSON events after decompression
    compression: str = "off"  # "deflate" (WebSocket), or the request's Content-Encoding
    status: int = 0  # the HTTP status (101 upgrades: 0; an error event: its status)
    sent_at: float = 0.0  # perf_counter when the request was all forwarded
    first_token_at: float | None = None
    ended_at: float | None = None
    ended: float = 0.0  # Unix time the reply ended
    response_id: str | None = None
    output: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: str | None = None  # the error code or type the upstream answered with
    events: int = 0
    unparsed: str | None = None  # why the recorder could not read this exchange (its bytes kept raw)
    complete: bool = False  # the reply reached a terminal event (or a whole JSON body)

    @property
    def api(self) -> str:
        return "chat" if self.path.rstrip("/").endswith("/chat/completions") else "responses"

    @property
    def generate(self) -> bool:
        return (self.request or {}).get("generate") is not False

    @property
    def ok(self) -> bool:
        return self.complete and self.error is None and self.unparsed is None

    @property
    def ttft_ms(self) -> float | None:
        if self.first_token_at is None or not self.sent_at:
            return None
        return (self.first_token_at - self.sent_at) * 1000.0

    @property
    def duration_ms(self) -> float | None:
        if self.ended_at is None or not self.sent_at:
            return None
        return (self.ended_at - self.sent_at) * 1000.0

    def take_request(self, payload: bytes) -> None:
        self.payload_sent = len(payload)
        self.sent_at = time.perf_counter()
        try:
            body = json.loads(payload)
        except ValueError as e:
            self.unparsed = f"request body is not JSON ({e.__class__.__name__})"
            return
        if not isinstance(body, dict):
            self.unparsed = "request body is not a JSON object"
            return
        self.request = body

    def end(self) -> None:
        self.ended_at = time.perf_counter()
        self.ended = time.time()


class ResponsesEvents:
    """Responses API events (SSE ``data:`` objects or WebSocket messages) into the exchange."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex

    def event(self, obj: Any) -> bool:
        """Takes one event; True when it ends the response."""
        ex = self.ex
        ex.events += 1
        if not isinstance(obj, dict):
            return False
        etype = obj.get("type")
        if (
            etype in DELTA_EVENTS
            and ex.first_token_at is None
            and etype != "response.reasoning_summary_text.delta"
        ):
            ex.first_token_at = time.perf_counter()
        resp = obj.get("response")
        if isinstance(resp, dict) and ex.response_id is None:
            ex.response_id = resp.get("id")
        if etype in COMPLETED_EVENTS or etype in FAILED_EVENTS:
            self._final(resp if isinstance(resp, dict) else {})
            if etype in FAILED_EVENTS:
                failure = (resp or {}).get("error") or {}
                ex.error = str(failure.get("code") or etype)
            return True
        if etype == ERROR_EVENT:
            err: dict[str, Any] = obj["error"] if isinstance(obj.get("error"), dict) else obj
            ex.error = str(err.get("code") or err.get("type") or "error")
            ex.status = int(obj.get("status") or 0)
            ex.complete = True
            return True
        return False

    def body(self, obj: Any) -> None:
        """A whole (non-streamed) JSON body: a Response object, or an error."""
        if isinstance(obj, dict) and isinstance(obj.get("error"), dict) and obj.get("object") != "response":
            self.ex.error = str(obj["error"].get("code") or obj["error"].get("type") or "error")
            self.ex.complete = True
            return
        self.ex.response_id = obj.get("id") if isinstance(obj, dict) else None
        self._final(obj if isinstance(obj, dict) else {})

    def _final(self, resp: dict[str, Any]) -> None:
        ex = self.ex
        ex.output = [i for i in resp.get("output") or [] if isinstance(i, dict)]
        ex.usage = resp.get("usage") if isinstance(resp.get("usage"), dict) else None
        ex.complete = True


class ChatEvents:
    """Chat Completions chunks (or a whole completion) as Responses-shaped output items, so one task
    builder serves both APIs."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}

    def event(self, obj: Any) -> bool:
        ex = self.ex
        ex.events += 1
        if not isinstance(obj, dict):
            return False
        if isinstance(obj.get("error"), dict):
            ex.error = str(obj["error"].get("code") or obj["error"].get("type") or "error")
            ex.complete = True
            return True
        ex.response_id = ex.response_id or obj.get("id")
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") or {}
            if (delta.get("content") or delta.get("tool_calls")) and ex.first_token_at is None:
                ex.first_token_at = time.perf_counter()
            if delta.get("content"):
                self.text.append(delta["content"])
            for tc in delta.get("tool_calls") or []:
                call = self.calls.setdefault(int(tc.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                call["id"] = tc.get("id") or call["id"]
                fn = tc.get("function") or {}
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""
        if isinstance(obj.get("usage"), dict):
            ex.usage = chat_usage(obj["usage"])
        return False

    def done(self) -> None:
        """The stream ended ([DONE] or the body's end): the items it made."""
        items: list[dict[str, Any]] = []
        if self.text:
            items.append(
                {"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "".join(self.text)}]}
            )  # fmt: skip
        for _, c in sorted(self.calls.items()):
            items.append(
                {"type": "function_call", "call_id": c["id"], "name": c["name"], "arguments": c["arguments"]}
            )
        self.ex.output = items
        self.ex.complete = self.ex.complete or bool(items) or self.ex.usage is not None

    def body(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        if isinstance(obj.get("error"), dict):
            self.event(obj)
            return
        self.ex.response_id = obj.get("id")
        for choice in obj.get("choices") or []:
            msg = choice.get("message") or {}
            if msg.get("content"):
                self.text.append(msg["content"])
            for i, tc in enumerate(msg.get("tool_calls") or []):
                fn = tc.get("function") or {}
                self.calls[i] = {
                    "id": tc.get("id", ""),
                    "name": fn.get("name", ""),
                    "arguments": fn.get("arguments", ""),
                }
        if isinstance(obj.get("usage"), dict):
            self.ex.usage = chat_usage(obj["usage"])
        self.done()


def chat_usage(u: dict[str, Any]) -> dict[str, Any]:
    """Chat usage in the Responses API's names."""
    return {
        "input_tokens": u.get("prompt_tokens", 0),
        "input_tokens_details": {
            "cached_tokens": (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
        },
        "output_tokens": u.get("completion_tokens", 0),
        "output_tokens_details": {
            "reasoning_tokens": (u.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
        },
    }
