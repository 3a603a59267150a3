"""The agents' parsers, fed bytes: SSE lines, Responses events, Chat chunks, WebSocket frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentload.client.stream import ChatConsumer, ResponsesConsumer, TurnOutcome, event_type
from agentload.client.wire.websocket import WsClosed, WsConnection
from agentload.core.records import ErrorKind
from agentload.core.sse import iter_sse
from agentload.core.websocket import OP_TEXT, encode_frame, mask_payload


def test_sse_events_with_names_multi_line_data_and_no_trailing_blank() -> None:
    lines = [
        b"event: response.created\n",
        b'data: {"a":1}\n',
        b"\n",
        b": comment\n",
        b"data: x\n",
        b"data: y\n",
        b"\n",
        b"data:z\n",
    ]
    assert list(iter_sse(iter(lines))) == [("response.created", b'{"a":1}'), ("", b"x\ny"), ("", b"z")]


def test_event_type_is_read_without_decoding_and_falls_back() -> None:
    assert event_type(b'{"type":"response.output_text.delta","delta":"x"}') == "response.output_text.delta"
    assert event_type(b'{"delta":"x","type":"late"}') == "late"
    assert event_type(b"not json") == ""


def _feed(events: list[dict[str, Any]]) -> TurnOutcome:
    out = TurnOutcome()
    c = ResponsesConsumer(out)
    for e in events:
        if c.feed(e["type"], json.dumps(e).encode()):
            break
    return out


def test_responses_events_give_calls_usage_and_a_first_token() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{}"}
    out = _feed(
        [
            {"type": "response.created"},
            {"type": "response.function_call_arguments.delta", "delta": "{"},
            {
                "type": "response.completed",
                "response": {"id": "r1", "output": [call], "usage": {"input_tokens": 3}},
            },
        ]
    )
    assert out.ok and out.response_id == "r1" and out.t_first_token is not None and out.events == 3
    assert [c.name for c in out.calls] == ["read_file"] and out.usage == {"input_tokens": 3}


def test_a_failed_response_and_a_cut_event_are_classified() -> None:
    failed = _feed(
        [
            {
                "type": "response.failed",
                "response": {"id": "r", "error": {"code": "server_error", "message": "boom"}},
            }
        ]
    )
    assert (failed.error_kind, failed.error_code) == (ErrorKind.RESPONSE_FAILED, "server_error")
    with pytest.raises(ValueError):
        ResponsesConsumer(TurnOutcome()).feed(
            "response.output_text.delta", b'{"type":"response.output_text.de'
        )


def test_chat_chunks_assemble_tool_calls_by_index_and_normalize_usage() -> None:
    out = TurnOutcome()
    c = ChatConsumer(out)
    chunks = [
        {
            "id": "x",
            "choices": [
                {
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}]
                    }
                }
            ],
        },
        {
            "id": "x",
            "choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"p":'}}]}}],
        },
        {
            "id": "x",
            "choices": [
                {
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]},
                    "finish_reason": "tool_calls",
                }
            ],
        },
        {
            "id": "x",
            "choices": [],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 1},
            },
        },
    ]
    for ch in chunks:
        assert not c.feed(json.dumps(ch).encode())
    assert c.feed(b"[DONE]")
    assert out.ok and [(x.call_id, x.arguments) for x in out.calls] == [("a", '{"p":1}')]
    assert out.usage == {
        "input_tokens": 9,
        "output_tokens": 2,
        "input_tokens_details": {"cached_tokens": 4},
        "output_tokens_details": {"reasoning_tokens": 1},
    }


class _Sock:
    """A socket that hands out scripted reads and keeps what is sent."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads, self.sent = list(reads), b""

    def recv(self, n: int) -> bytes:
        return self.reads.pop(0) if self.reads else b""

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        pass


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    assert len(payload) < 126
    return bytes([(0x80 if fin else 0) | opcode, len(payload)]) + payload


def test_websocket_frames_are_sliced_across_reads_and_fragments_joined() -> None:
    blob = (
        _server_frame(OP_TEXT, b'{"a":1}')
        + _server_frame(0x9, b"hi")
        + _server_frame(OP_TEXT, b"ab", fin=False)
    )
    blob += _server_frame(0x0, b"cd") + _server_frame(0x8, b"\x03\xe8bye")
    conn = WsConnection("ws://x/v1/responses", {})
    sock = conn.sock = _Sock([blob[:3], blob[3:11], blob[11:]])
    assert conn.recv_message() == b'{"a":1}'
    assert conn.recv_message() == b"abcd"
    assert sock.sent[:2] == bytes([0x80 | 0xA, 0x80 | 2])  # the ping between was answered with a pong
    with pytest.raises(WsClosed) as closed:
        conn.recv_message()
    assert closed.value.code == 1000 and closed.value.reason == "bye"
    assert sock.sent[8] == 0x80 | 0x8 and conn.sock is None  # the close was echoed, the socket dropped


def test_client_frames_are_masked_and_decodable() -> None:
    key = b"\x01\x02\x03\x04"
    frame = encode_frame(OP_TEXT, b"x" * 300, key)
    assert frame[0] == 0x81 and frame[1] == 0x80 | 126 and frame[4:8] == key
    assert mask_payload(frame[8:], key) == b"x" * 300
