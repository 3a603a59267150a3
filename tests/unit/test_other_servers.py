"""agentload against servers that are not its mock (#28, part 5), in-process: --host's base path as the
openai SDK reads a base_url, the first token at the first delta that carries output, a refused
WebSocket upgrade named by what the server answered, key material out of a server's words, missing
usage as unknown. (The lines that stop a run are the real Locust process's: tests/e2e/test_other_servers.py;
this module imports nothing that imports Locust.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentload.client import Agent, AgentSettings, api_base
from agentload.client.agent import usage_tokens
from agentload.client.backoff import unfixable
from agentload.client.stream import ChatConsumer, ResponsesConsumer, TurnOutcome, error_from_body
from agentload.client.transports import _refused_upgrade, ws_url
from agentload.client.wire.websocket import WsHandshakeError
from agentload.core.records import TRANSIENT, ErrorKind, TaskRecord, TurnRecord
from agentload.core.redact import redact
from agentload.core.strategies import BY_NAME
from agentload.influx import schema
from agentload.metrics import Group, Totals, row_of, usage_note
from agentload.recording.http1 import Head
from agentload.recording.proxy import RecordingProxy, Upstream
from agentload.workload import load_task
from tests.unit.fakes import FakeTransport, ok


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


# ----------------------------------------------------------------------------------- refused upgrades
@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "said"),
    [
        (0, {}, b"", ErrorKind.UPGRADE_REFUSED, "no answer: the connection was closed"),
        (
            200,
            {"content-type": "text/html; charset=utf-8"},
            b"<html>",
            ErrorKind.UPGRADE_REFUSED,
            "HTTP 200, text/html, 6 bytes",
        ),
        (404, {}, b"", ErrorKind.UPGRADE_REFUSED, "HTTP 404, no content type, 0 bytes"),
        (
            400,
            {"content-type": "application/json"},
            b'{"error": {"message": "not a websocket route", "type": "invalid_request_error", "code": "bad_route"}}',
            ErrorKind.UPGRADE_REFUSED,
            "(invalid_request_error, bad_route: not a websocket route)",
        ),
        (
            101,
            {},
            b"bad Sec-WebSocket-Accept",
            ErrorKind.UPGRADE_REFUSED,
            "HTTP 101 with bad Sec-WebSocket-Accept",
        ),
        # what a status says for itself stays what it was: the key, a limit, a server's failure
        (401, {}, b'{"error": {"message": "no", "type": "invalid_request_error"}}', ErrorKind.AUTH, "no"),
        (429, {}, b'{"error": {"message": "slow down", "type": "requests"}}', ErrorKind.RATE_LIMITED, "slow"),
        (503, {}, b"", ErrorKind.SERVER, "HTTP 503"),
    ],
)
def test_a_refused_upgrade_is_named_with_what_the_server_answered(
    status: int, headers: dict[str, str], body: bytes, kind: ErrorKind, said: str
) -> None:
    out = TurnOutcome()
    _refused_upgrade(out, WsHandshakeError(status, headers, body))
    assert out.error_kind == kind and said in (out.error_message or ""), out
    assert kind not in TRANSIENT or kind == ErrorKind.SERVER  # no retry of a refusal
    if kind == ErrorKind.UPGRADE_REFUSED:
        assert unfixable(out.error_kind, out.error_code)  # it stops the run as a 404 does


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-abc***xyz. You can find your API key at ...",
        "Authorization: Bearer sk-proj-abcdef0123456789",
        "Received API Key = sk-1234",
        "key hash 3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b",
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
        "the key is plain-key-1234 here",
    ],
)
def test_key_material_is_redacted_from_a_servers_message(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plain-key-1234")
    shown = redact(text)
    for secret in ("sk-abc", "sk-proj", "sk-1234", "3e4f5a", "eyJhbG", "plain-key-1234"):
        assert secret not in shown, shown
    assert "[redacted]" in shown
    assert redact("No connected db.") == "No connected db."  # the words around it stay


# ----------------------------------------------------------------------------------- unknown usage
def _no_usage(calls: int = 0, response_id: str = "resp_1") -> TurnOutcome:
    out = ok(calls=calls, response_id=response_id)
    out.usage = {}  # (usage: null, or none at all: the consumers leave it empty)
    return out


def test_usage_the_server_did_not_report_is_unknown_not_zero() -> None:
    assert usage_tokens({}) == (None, None, None, None)
    assert usage_tokens({"input_tokens": None, "output_tokens": None}) == (None, None, None, None)
    assert usage_tokens({"input_tokens": 9, "output_tokens": 2}) == (9, 0, 2, 0)  # details left out: 0
    transport = FakeTransport(
        [ok(calls=1, response_id="r1"), _no_usage(calls=1, response_id="r2"), _no_usage()]
    )
    turns: list[TurnRecord] = []
    tasks: list[TaskRecord] = []
    agent = Agent(
        AgentSettings(BY_NAME["http-chained"], "gpt-5.4", tool_latency_scale=0),
        transport,
        1,
        on_turn=lambda rec, _out: turns.append(rec),
        on_task=tasks.append,
        sleep=lambda _s: None,
    )
    rec = agent.run_task(load_task("fix-failing-test"))
    assert [t.input_tokens for t in turns] == [100, None, None] and turns[2].cached_tokens is None
    assert [t.usage_unknown for t in turns] == [False, True, True]
    assert rec.input_tokens == 100 and rec.output_tokens == 10 and rec.usage_unknown_turns == 2
    assert json.loads(json.dumps(turns[1].as_dict()))["input_tokens"] is None  # records: null

    totals = Totals()
    for t in turns:
        totals.add_turn(t)
    totals.add_task(rec)
    assert totals.turns_usage_unknown == 2 and totals.input_tokens == 100
    merged = Totals().merge(totals.as_dict())  # (a worker's figures, merged on the master)
    assert merged.turns_usage_unknown == 2
    row = row_of(Group("http-chained", totals), None)
    assert row.usage_unknown_turns == 2 and row.cached_share == 0.0  # over the one turn that had usage
    note = usage_note([row])
    assert note is not None and "usage unknown on 2 of 3 successful turns (http-chained 2)" in note
    assert usage_note([row_of(Group("ws", Totals()), None)]) is None  # nothing unknown: no line

    none_known = Totals()
    none_known.add_turn(turns[1])
    assert row_of(Group("chat", none_known), None).cached_share is None  # shown as "-", never 0 %


def test_influx_leaves_unknown_token_fields_out_and_counts_the_turns() -> None:
    turn = TurnRecord("chat", "t", "m", 1, 0, 0, 1.0, 5.0, 1.0, 10, 20)
    assert turn.usage_unknown
    line = schema.turn_line(turn, schema.PointTags("r", "w", "h"), 1)
    assert "tokens" not in line.split(" ")[1], line
    task = TaskRecord("chat", "t", "m", 1, 0, 1.0, 5.0, 1, 0, 10, 20, usage_unknown_turns=1)
    assert ",usage_unknown_turns=1i," in schema.task_line(task, schema.PointTags("r", "w", "h"), 1)


def test_a_failures_message_never_keeps_key_material(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every failure's message (Locust's failure table, the stop line) goes without the key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-unit-secret-42")
    out = TurnOutcome()
    body = b'{"error": {"message": "Received API Key = sk-proj-unit-secret-42", "type": "no_db_connection"}}'
    error_from_body(out, 400, body)
    assert out.error_message == "Received API Key = [redacted]" and out.error_type == "no_db_connection"
