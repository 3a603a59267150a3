"""A passive RFC 6455 reader: the messages in one direction of a WebSocket byte stream, fed as it passes.

The recorder forwards a connection's bytes unchanged and reads a copy here, so it never re-frames or
re-compresses what the client and the server agreed on (permessage-deflate included: ``inflate`` is the
receiving side's state for that direction, with its context takeover). Framing only: no I/O.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..core.deflate import MessageInflate

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1 = 0x40


@dataclass(frozen=True)
class Message:
    opcode: int  # OP_TEXT, OP_BINARY or OP_CLOSE (pings and pongs are passed over)
    payload: bytes  # decompressed
    wire_bytes: int  # what its frames took on the wire, headers and masks included


class FrameReader:
    """Messages from a byte stream fed in arbitrary pieces. ``inflate``: the permessage-deflate state
    of this direction, or None when the extension was not agreed."""

    def __init__(self, inflate: MessageInflate | None = None) -> None:
        self.inflate = inflate
        self._buf = bytearray()
        self._fragments: list[bytes] = []
        self._compressed = False
        self._wire = 0

    def feed(self, data: bytes) -> list[Message]:
        """The messages that ``data`` completes. Raises ValueError on a stream that is not RFC 6455
        (the caller then stops reading it, and goes on forwarding)."""
        self._buf += data
        out: list[Message] = []
        while True:
            buf = self._buf
            if len(buf) < 2:
                return out
            b0, b1 = buf[0], buf[1]
            if b0 & 0x30:
                raise ValueError("reserved bits RSV2/RSV3 set")
            n = b1 & 0x7F
            hlen = 2 + (2 if n == 126 else 8 if n == 127 else 0) + (4 if b1 & 0x80 else 0)
            if len(buf) < hlen:
                return out
            if n == 126:
                n = struct.unpack_from("!H", buf, 2)[0]
            elif n == 127:
                n = struct.unpack_from("!Q", buf, 2)[0]
            if len(buf) < hlen + n:
                return out
            payload = bytes(buf[hlen : hlen + n])
            if b1 & 0x80:
                payload = _unmask(payload, bytes(buf[hlen - 4 : hlen]))
            del buf[: hlen + n]
            opcode = b0 & 0x0F
            self._wire += hlen + n
            if opcode in (OP_PING, OP_PONG):
                continue  # control frames between fragments belong to no message
            if opcode == OP_CLOSE:
                out.append(Message(OP_CLOSE, payload, self._take_wire()))
                continue
            if opcode != OP_CONT:
                self._compressed = bool(b0 & RSV1)
                self._fragments = []
            self._fragments.append(payload)
            if b0 & 0x80:
                whole = b"".join(self._fragments)
                self._fragments = []
                if self._compressed:
                    if self.inflate is None:
                        raise ValueError("a compressed frame without permessage-deflate")
                    try:
                        whole = self.inflate.decompress(whole)
                    except zlib.error as e:
                        raise ValueError(f"permessage-deflate: {e}") from None
                out.append(Message(opcode if opcode != OP_CONT else OP_TEXT, whole, self._take_wire()))

    def _take_wire(self) -> int:
        n, self._wire = self._wire, 0
        return n


def _unmask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    n = len(payload)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")
