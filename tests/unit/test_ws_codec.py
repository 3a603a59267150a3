"""core.websocket, the one RFC 6455 codec (agents, recorder, mock): frames against RFC 6455's own
examples and websocket-client's encoder, round trips masked and unmasked, 7-, 16- and 64-bit lengths,
fragments with control frames between them, permessage-deflate, bytes fed at any split, and the
streams it refuses."""

from __future__ import annotations

import os

import pytest
import websocket as wsc  # websocket-client: an encoder that is not ours
from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.core.deflate import MessageDeflate, MessageInflate
from agentload.core.websocket import (
    FIN,
    GUID,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    WsCodec,
    accept_key,
    close_payload,
    encode_frame,
    frame_size,
    mask_payload,
    new_key,
    parse_close,
)


def read_all(codec: WsCodec, data: bytes, step: int = 0) -> list[tuple[int, bytes, int]]:
    """The messages of ``data`` fed whole, or ``step`` bytes at a time."""
    out: list[tuple[int, bytes, int]] = []
    pieces = [data] if step <= 0 else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        codec.receive_data(piece)
        out += codec.events()
    return out


# ---------------------------------------------------------------------------------- RFC 6455's own
def test_the_rfc_examples() -> None:
    """RFC 6455 5.7, byte for byte: both ways."""
    unmasked = bytes([0x81, 0x05]) + b"Hello"
    masked = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert encode_frame(OP_TEXT, b"Hello") == unmasked
    assert encode_frame(OP_TEXT, b"Hello", bytes([0x37, 0xFA, 0x21, 0x3D])) == masked
    fragmented = bytes([0x01, 0x03]) + b"Hel" + bytes([0x80, 0x02]) + b"lo"
    assert encode_frame(OP_TEXT, b"Hel", fin=False) + encode_frame(OP_CONT, b"lo") == fragmented
    ping = bytes([0x89, 0x05]) + b"Hello"
    pong = bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    binary_256 = bytes([0x82, 0x7E, 0x01, 0x00]) + bytes(256)
    binary_64k = bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]) + bytes(65536)
    assert encode_frame(OP_BINARY, bytes(256)) == binary_256
    assert encode_frame(OP_BINARY, bytes(65536)) == binary_64k
    got = read_all(
        WsCodec(client=True), unmasked + masked + fragmented + ping + pong + binary_256 + binary_64k
    )
    assert got == [
        (OP_TEXT, b"Hello", 7),
        (OP_TEXT, b"Hello", 11),
        (OP_TEXT, b"Hello", 9),  # the fragments' two frames
        (OP_PING, b"Hello", 7),
        (OP_PONG, b"Hello", 11),
        (OP_BINARY, bytes(256), 260),
        (OP_BINARY, bytes(65536), 65546),
    ]


def test_the_handshake_answer() -> None:
    assert GUID == b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 1.3
    assert accept_key(b"dGhlIHNhbXBsZSBub25jZQ==") == accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    key = new_key()
    assert len(key) == 24 and key != new_key()


def test_masking_is_its_own_inverse_and_keeps_leading_zeros() -> None:
    key = b"\x01\x02\x03\x04"
    for payload in (b"", b"\x00", b"\x01\x02\x03\x04", b"\x00" * 9, os.urandom(1000), b"abc\x00\x00"):
        once = mask_payload(payload, key)
        assert len(once) == len(payload) and mask_payload(once, key) == payload
    assert mask_payload(b"\x01\x02\x03\x04\x01", key) == b"\x00\x00\x00\x00\x00"


# ------------------------------------------------------------------------- another implementation
@pytest.mark.parametrize("n", [0, 1, 125, 126, 127, 65535, 65536, 100_000])
def test_websocket_clients_frames_read_and_ours_read_by_it(n: int) -> None:
    payload = os.urandom(n)
    theirs = wsc.ABNF.create_frame(payload, wsc.ABNF.OPCODE_BINARY).format()  # masked, random key
    assert read_all(WsCodec(client=False), theirs, step=997) == [(OP_BINARY, payload, len(theirs))]
    ours = WsCodec(client=True).send(OP_BINARY, payload)
    frame = _parse_with_websocket_client(ours)
    assert frame.opcode == wsc.ABNF.OPCODE_BINARY and frame.fin and frame.mask_value and frame.data == payload


def _parse_with_websocket_client(data: bytes) -> wsc.ABNF:
    pos = 0

    def recv(n: int) -> bytes:
        nonlocal pos
        chunk, pos = data[pos : pos + n], pos + n
        return chunk

    frame = wsc._abnf.frame_buffer(recv, skip_utf8_validation=True).recv_frame()
    assert pos == len(data)
    return frame


# ---------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("client", [True, False])
@pytest.mark.parametrize("n", [0, 5, 125, 126, 65535, 65536, 70_000])
def test_round_trips_masked_and_unmasked_at_every_length_field(client: bool, n: int) -> None:
    payload = os.urandom(n)
    frame = WsCodec(client=client).send(OP_TEXT, payload)
    assert frame[0] == FIN | OP_TEXT
    assert bool(frame[1] & 0x80) == client  # a client's frames are masked, a server's are not
    assert frame[1] & 0x7F == (n if n < 126 else 126 if n < 65536 else 127)
    assert len(frame) == frame_size(n, masked=client)
    if client and n:
        assert frame[-n:] != payload  # (masked on the wire)
    assert read_all(WsCodec(client=not client), frame) == [(OP_TEXT, payload, len(frame))]


def test_a_clients_frames_take_a_fresh_mask_each() -> None:
    codec = WsCodec(client=True)
    a, b = codec.send(OP_TEXT, b"same payload"), codec.send(OP_TEXT, b"same payload")
    assert a[2:6] != b[2:6] and a != b


def test_fragments_with_control_frames_between_them() -> None:
    payload = b'{"type":"response.output_text.delta","delta":"' + b"x" * 300 + b'"}'
    frames = WsCodec(client=False).send(OP_TEXT, payload, fragment_size=100)
    assert frames[0] == OP_TEXT  # FIN clear on the first of four
    parts = _split_frames(frames)
    assert len(parts) == 4 and [p[0] & 0x0F for p in parts] == [OP_TEXT, OP_CONT, OP_CONT, OP_CONT]
    assert [bool(p[0] & FIN) for p in parts] == [False, False, False, True]
    ping, pong = encode_frame(OP_PING, b"p1"), encode_frame(OP_PONG, b"p2")
    stream = parts[0] + ping + parts[1] + parts[2] + pong + parts[3] + encode_frame(OP_TEXT, b"next")
    for step in (0, 1, 3, 64):
        got = read_all(WsCodec(client=True), stream, step)
        assert got == [
            (OP_PING, b"p1", len(ping)),
            (OP_PONG, b"p2", len(pong)),
            (OP_TEXT, payload, len(frames)),  # every fragment's bytes, none of the controls'
            (OP_TEXT, b"next", 6),
        ]


def _split_frames(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        n, head = data[pos + 1] & 0x7F, 2
        if n == 126:
            n, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        head += 4 if data[pos + 1] & 0x80 else 0
        out.append(data[pos : pos + head + n])
        pos += head + n
    return out


def test_control_frames_and_close() -> None:
    server, client = WsCodec(client=False), WsCodec(client=True)
    blob = client.send(OP_PING, b"hi") + client.send(OP_CLOSE, close_payload(1001, "going away"))
    got = read_all(server, blob)
    assert [(op, p) for op, p, _ in got] == [(OP_PING, b"hi"), (OP_CLOSE, b"\x03\xe9going away")]
    assert parse_close(got[1][1]) == (1001, "going away")
    assert parse_close(b"") == (None, "") and close_payload(None) == b""
    assert len(close_payload(1000, "x" * 500)) == 125  # a control frame's payload limit
    with pytest.raises(ValueError, match="125"):
        client.send(OP_PING, b"x" * 126)
    assert client.send(OP_PING, b"x" * 50, fragment_size=10).count(b"\x89") == 1  # (never fragmented)


# --------------------------------------------------------------------------------- deflate
@pytest.mark.parametrize("takeover", [True, False])
def test_deflate_round_trips_rsv1_on_the_first_frame_only(takeover: bool) -> None:
    sender = WsCodec(client=True, deflate=MessageDeflate(15, not takeover))
    receiver = WsCodec(client=False, inflate=MessageInflate(15, not takeover))
    messages = [b'{"type":"response.output_text.delta","delta":"word %d "}' % i for i in range(40)]
    messages.append(b"y" * 5000)
    stream = b""
    for i, m in enumerate(messages):
        frames = sender.send(OP_TEXT, m, fragment_size=8 if i % 3 == 0 else 0)
        parts = _split_frames(frames)
        assert parts[0][0] & RSV1 and not any(p[0] & RSV1 for p in parts[1:])
        stream += frames
    stream += sender.send(OP_PING, b"not compressed")
    got = read_all(receiver, stream, step=5)
    assert [p for _, p, _ in got] == [*messages, b"not compressed"]
    assert sum(w for *_, w in got) == len(stream)
    ping = _split_frames(stream)[-1]
    assert ping[0] == FIN | OP_PING and mask_payload(ping[6:], ping[2:6]) == b"not compressed"


def test_a_message_that_does_not_inflate_is_a_value_error() -> None:
    receiver = WsCodec(client=False, inflate=MessageInflate(15, False))
    with pytest.raises(ValueError, match="permessage-deflate"):
        read_all(receiver, encode_frame(OP_TEXT, b"\xff\xff\xff\xff not deflate", rsv1=True))


# ------------------------------------------------------------------------------- any split point
@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    fragment=st.integers(min_value=0, max_value=40),
    masked=st.booleans(),
)
def test_any_split_point_gives_the_same_messages(
    messages: list[bytes], cuts: list[int], fragment: int, masked: bool
) -> None:
    sender = WsCodec(client=masked)
    frames = [sender.send(OP_BINARY if i % 2 else OP_TEXT, m, fragment) for i, m in enumerate(messages)]
    stream = b"".join(frames)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    receiver = WsCodec(client=not masked)
    out: list[tuple[int, bytes, int]] = []
    for a, b in zip(points, points[1:], strict=False):
        receiver.receive_data(stream[a:b])
        out += receiver.events()
    assert out == [
        (OP_BINARY if i % 2 else OP_TEXT, m, len(f))
        for i, (m, f) in enumerate(zip(messages, frames, strict=True))
    ]
    assert receiver.buffered == 0


def test_byte_by_byte_and_a_long_stream_through_the_buffer() -> None:
    sender = WsCodec(client=False)
    messages = [os.urandom(i % 700) for i in range(600)]  # ~200 KB: the buffer compacts on the way
    stream = b"".join(sender.send(OP_TEXT, m) for m in messages)
    assert [p for _, p, _ in read_all(WsCodec(client=True), stream, step=1)] == messages
    assert [p for _, p, _ in read_all(WsCodec(client=True), stream, step=65536)] == messages


# --------------------------------------------------------------------------- streams it refuses
@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xb1\x00", "RSV2"),
        (b"\xa1\x00", "RSV2/RSV3"),
        (encode_frame(OP_TEXT, b"x", rsv1=True), "without permessage-deflate"),
        (encode_frame(OP_CONT, b"x"), "no message to continue"),
        (encode_frame(OP_TEXT, b"a", fin=False) + encode_frame(OP_TEXT, b"b"), "before the fragmented one"),
        (encode_frame(OP_PING, b"a", fin=False), "control frame"),
        (bytes([0x89, 126, 0, 126]) + b"x" * 126, "control frame"),
        (encode_frame(0x3, b"x"), "unknown data opcode"),
        (encode_frame(0xB, b"x"), "unknown control opcode"),
        (bytes([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]), "most significant bit"),
    ],
)
def test_streams_that_are_not_rfc_6455(data: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_all(WsCodec(client=True), data)


def test_rsv1_on_a_continuation_is_refused() -> None:
    data = encode_frame(OP_TEXT, b"a", fin=False, rsv1=True) + encode_frame(OP_CONT, b"b", rsv1=True)
    with pytest.raises(ValueError, match="continuation"):
        read_all(WsCodec(client=True, inflate=MessageInflate(15, False)), data)
