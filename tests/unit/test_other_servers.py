"""agentload against servers that are not its mock (#28, part 5), in-process: --host's base path as the
openai SDK reads a base_url, the first token at the first delta that carries output, a refused
WebSocket upgrade and a 400 on every first request named as the cause, missing usage as unknown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentload.client import api_base
from agentload.client.stream import ChatConsumer, ResponsesConsumer, TurnOutcome
from agentload.client.transports import ws_url
from agentload.recording.http1 import Head
from agentload.recording.proxy import RecordingProxy, Upstream


# ----------------------------------------------------------------------------------- --host's base
@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),  # a bare origin: OpenAI's /v1
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("http://gw:4000/openai/v1", "http://gw:4000/openai/v1"),  # a gateway's own base path
        ("http://gw:4000/openai/v1/", "http://gw:4000/openai/v1"),
        ("http://gw:4000/api", "http://gw:4000/api"),  # no /v1 forced onto a path given
    ],
)
def test_a_host_with_a_path_is_the_api_base_and_a_bare_origin_gets_v1(host: str, base: str) -> None:
    assert api_base(host) == base


def test_the_websocket_upgrade_goes_to_the_same_base_path() -> None:
    assert ws_url(api_base("http://gw:4000/openai/v1")) == "ws://gw:4000/openai/v1/responses"
    assert ws_url(api_base("https://gw/api")) == "wss://gw/api/responses"
    assert ws_url(api_base("http://127.0.0.1:8000")) == "ws://127.0.0.1:8000/v1/responses"


@pytest.mark.parametrize(
    ("upstream", "client_target", "forwarded"),
    [
        ("https://api.openai.com", "/v1/responses", "/v1/responses"),
        ("https://api.openai.com/v1", "/v1/responses", "/v1/responses"),
        ("http://gw:4000/openai/v1", "/v1/responses", "/openai/v1/responses"),
        ("http://gw:4000/api", "/v1/chat/completions", "/api/chat/completions"),
        ("http://gw:4000/api", "/v1/models?x=1", "/api/models?x=1"),
        ("http://gw:4000/api", "/_agentload/ledger", "/_agentload/ledger"),  # not the API: as sent
    ],
)
def test_the_recorder_forwards_a_clients_v1_to_the_upstreams_base(
    tmp_path: Path, upstream: str, client_target: str, forwarded: str
) -> None:
    proxy = RecordingProxy(Upstream.parse(upstream), tmp_path, lambda _x: None)
    head = Head(f"POST {client_target} HTTP/1.1", [("Host", "127.0.0.1:8011")], 0)
    start_line = proxy._forwarded(head).split(b"\r\n", 1)[0].decode()
    assert start_line == f"POST {forwarded} HTTP/1.1"


# ----------------------------------------------------------------------------------- first token
def _responses(events: list[dict[str, Any]]) -> TurnOutcome:
    out = TurnOutcome()
    consumer = ResponsesConsumer(out)
    for e in events:
        consumer.feed(e["type"], json.dumps(e).encode())
    return out


@pytest.mark.parametrize(
    "kind",
    [
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
    ],
)
def test_an_empty_delta_is_not_the_first_token(kind: str) -> None:
    out = _responses([{"type": kind, "delta": ""}, {"type": kind, "delta": None}])
    assert out.t_first_token is None
    out = _responses([{"type": kind, "delta": ""}, {"type": kind, "delta": "x"}])
    assert out.t_first_token is not None
    # (spaces as other servers write JSON, and a delta's text that names the key itself)
    spaced = b'{"type": "%s", "delta" : ""}' % kind.encode()
    out = TurnOutcome()
    ResponsesConsumer(out).feed(kind, spaced)
    assert out.t_first_token is None
    out = TurnOutcome()
    ResponsesConsumer(out).feed(kind, b'{"type":"%s","delta":"\\"delta\\":\\"\\""}' % kind.encode())
    assert out.t_first_token is not None


def test_a_chat_chunk_with_an_empty_piece_is_not_the_first_token() -> None:
    out = TurnOutcome()
    consumer = ChatConsumer(out)
    empty = [
        {"choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": ""}}]
                    }
                }
            ]
        },
        {"choices": [{"delta": {"content": None}}]},
    ]
    for chunk in empty:
        consumer.feed(json.dumps(chunk).encode())
    assert out.t_first_token is None
    consumer.feed(
        json.dumps(
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}}]}
        ).encode()
    )
    assert out.t_first_token is not None
