"""permessage-deflate's message transform (core.deflate): round trips with and without context
takeover, the offer, and the server's answer read as RFC 7692 says."""

from __future__ import annotations

import json

import pytest

from agentload.core.deflate import DeflateParams, MessageDeflate, MessageInflate, parse_answer
from agentload.core.websocket import RSV1, encode_frame

EVENTS = [json.dumps({"type": "response.output_text.delta", "delta": f"word {i} ", "sequence_number": i}).encode()
          for i in range(50)]  # fmt: skip


@pytest.mark.parametrize("takeover", [True, False])
@pytest.mark.parametrize("bits", [9, 12, 15])
def test_messages_round_trip(takeover: bool, bits: int) -> None:
    d, i = MessageDeflate(bits, not takeover), MessageInflate(bits, not takeover)
    sizes = []
    for e in EVENTS:
        data = d.compress(e)
        assert not data.endswith(b"\x00\x00\xff\xff")  # the tail is left off on the wire
        assert i.decompress(data) == e
        sizes.append(len(data))
    if takeover:  # later messages refer back to earlier ones: much smaller than the first
        assert max(sizes[10:]) < 0.5 * sizes[0]


def test_the_offer_and_the_answer() -> None:
    offer = DeflateParams(client_max_window_bits=12)
    assert offer.offer() == "permessage-deflate; client_max_window_bits=12"  # as Codex offers it
    small = DeflateParams(client_max_window_bits=12, server_max_window_bits=12)
    assert small.offer() == "permessage-deflate; client_max_window_bits=12; server_max_window_bits=12"
    with pytest.raises(ValueError):
        parse_answer("permessage-deflate; server_max_window_bits=15", small)  # past the bound asked
    agreed = parse_answer("permessage-deflate; server_no_context_takeover; client_max_window_bits=10", offer)
    assert agreed == DeflateParams(10, 15, False, True)
    assert parse_answer("x-webkit-deflate-frame", offer) is None  # declined
    assert parse_answer("permessage-deflate", offer) == DeflateParams(12, 15, False, False)
    with pytest.raises(ValueError):
        parse_answer("permessage-deflate; client_max_window_bits=15", offer)  # more than offered


def test_a_compressed_frame_carries_rsv1() -> None:
    frame = encode_frame(0x1, b"abc", key=b"\x00\x00\x00\x00", rsv1=True)
    assert frame[0] == 0x80 | RSV1 | 0x1 and frame[-3:] == b"abc"
