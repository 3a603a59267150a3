"""RFC 6455 WebSocket framing apart from any I/O: the one codec of the agents' client, the recorder's
passive reader and the mock's server frames, in the shape of wsproto (bytes in, messages out; bytes
out for what is sent; the sockets stay with the callers).

``WsCodec`` keeps one connection's receive buffer: ``receive_data`` appends what a socket read gave,
``next_message`` slices the next whole message out of it (fragments joined, permessage-deflate undone)
or says None until more bytes come, ``events`` iterates over every message already whole. A message
is a plain ``(opcode, payload, wire_bytes)`` tuple: the agents' receive loop is the generator's hot
path, and a tuple costs a fraction of an object per frame (bench/wsclient.py). ``wire_bytes`` is what
the message took on the wire, headers and masks included (every fragment of a fragmented message);
control frames (ping, pong, close) come out as messages of their own, between fragments too. Text is
not validated as UTF-8 (websocket-client's pure-Python validation is what makes it slow; the payloads
are JSON, parsed anyway). ``send`` frames one message: masked with a fresh key on a client, unmasked
on a server, compressed (RSV1 on its first frame) when permessage-deflate was agreed (core.deflate),
optionally cut into fragments. A stream that breaks RFC 6455 raises ValueError.

Also the opening handshake's pieces (the key and its Sec-WebSocket-Accept answer) and the close
frame's payload (status code and reason).
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import zlib
from collections.abc import Iterator

from .deflate import MessageDeflate, MessageInflate

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3

# Opcodes (RFC 6455 5.2): data frames below 0x8, control frames from it.
OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
DATA_OPCODES = frozenset((OP_TEXT, OP_BINARY))
CONTROL_OPCODES = frozenset((OP_CLOSE, OP_PING, OP_PONG))
FIN = 0x80  # the first byte's bits: the final frame of a message
RSV1 = 0x40  # the first frame of a compressed message (RFC 7692)
_RSV23 = 0x30  # no extension agentload speaks sets these
MASKED = 0x80  # the second byte's: a masked payload (every client frame)
MAX_CONTROL_PAYLOAD = 125

CLOSE_NORMAL = 1000
CLOSE_ABNORMAL = 1006  # no close frame came (never sent on the wire)

Message = tuple[int, bytes, int]  # (opcode, payload, wire_bytes); opcode OP_TEXT, OP_BINARY or a control's

_LEN1, _LEN2, _LEN8 = struct.Struct("!BB"), struct.Struct("!BBH"), struct.Struct("!BBQ")
_U16, _U64 = struct.Struct("!H"), struct.Struct("!Q")
_COMPACT = 65536  # the receive buffer drops what was read once that much is behind it


# ---------------------------------------------------------------------------------------- handshake
def new_key() -> str:
    """A client's Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_key(key: str | bytes) -> str:
    """The Sec-WebSocket-Accept a server answers ``key`` with (RFC 6455 4.2.2)."""
    raw = key.encode() if isinstance(key, str) else key
    return base64.b64encode(hashlib.sha1(raw.strip() + GUID).digest()).decode()


# ------------------------------------------------------------------------------------------ frames
def mask_payload(payload: bytes, key: bytes) -> bytes:
    """``payload`` XORed with the 4-byte ``key`` repeated (RFC 6455 5.3), as one big-integer operation;
    masking and unmasking are the same."""
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(
    opcode: int, payload: bytes, key: bytes | None = None, fin: bool = True, rsv1: bool = False
) -> bytes:
    """One frame: masked with the 4-byte ``key`` (a client's frame; RFC 6455 requires it), or unmasked
    when ``key`` is None (a server's). ``fin`` clear: a fragment with more to follow; ``rsv1``: the first
    frame of a compressed message."""
    n = len(payload)
    b0 = opcode | 0x80 if fin else opcode  # (FIN)
    if rsv1:
        b0 |= RSV1
    if key is None:  # (the mock's frames: one per event, kept short)
        if n < 126:
            return _LEN1.pack(b0, n) + payload
        if n < 65536:
            return _LEN2.pack(b0, 126, n) + payload
        return _LEN8.pack(b0, 127, n) + payload
    if n < 126:
        head = _LEN1.pack(b0, MASKED | n)
    elif n < 65536:
        head = _LEN2.pack(b0, MASKED | 126, n)
    else:
        head = _LEN8.pack(b0, MASKED | 127, n)
    return head + key + mask_payload(payload, key)


def frame_size(n: int, masked: bool) -> int:
    """The wire bytes of a frame with an ``n``-byte payload: header, mask key and payload."""
    return (2 if n < 126 else 4 if n < 65536 else 10) + (4 if masked else 0) + n


def close_payload(code: int | None = CLOSE_NORMAL, reason: str = "") -> bytes:
    """A close frame's payload: the status code and a UTF-8 reason (none at all without a code)."""
    if code is None:
        return b""
    return _U16.pack(code) + reason.encode()[: MAX_CONTROL_PAYLOAD - 2]


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """A close frame's status code (None when it carries none) and reason."""
    if len(payload) < 2:
        return None, ""
    return _U16.unpack_from(payload)[0], payload[2:].decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------- codec
class WsCodec:
    """One side of a connection's framing. ``client``: the frames it sends are masked. ``deflate``
    compresses the data messages it sends, ``inflate`` undoes the compression of those it receives
    (permessage-deflate, core.deflate; None where the extension was not agreed)."""

    __slots__ = ("client", "deflate", "inflate", "_buf", "_pos", "_frags", "_frag_op", "_frag_rsv1", "_wire")

    def __init__(
        self, client: bool, deflate: MessageDeflate | None = None, inflate: MessageInflate | None = None
    ) -> None:
        self.client = client
        self.deflate = deflate
        self.inflate = inflate
        self._buf = bytearray()
        self._pos = 0  # where the next frame starts in _buf
        self._frags: list[bytes] | None = None  # a fragmented message's payloads so far
        self._frag_op = 0
        self._frag_rsv1 = False
        self._wire = 0  # its frames' wire bytes so far

    # ------------------------------------------------------------------------------------ sending
    def send(self, opcode: int, payload: bytes, fragment_size: int = 0) -> bytes:
        """The frames of one message. A data message is compressed when ``deflate`` is set and, with
        ``fragment_size``, cut into frames of at most that many payload bytes; a control frame is
        neither (RFC 6455 5.5, RFC 7692 6.1)."""
        rsv1 = False
        if opcode < OP_CLOSE:
            if self.deflate is not None:
                payload, rsv1 = self.deflate.compress(payload), True
        elif len(payload) > MAX_CONTROL_PAYLOAD:
            raise ValueError(f"a control frame's payload is at most {MAX_CONTROL_PAYLOAD} bytes")
        client = self.client
        if fragment_size <= 0 or len(payload) <= fragment_size or opcode >= OP_CLOSE:
            return encode_frame(opcode, payload, os.urandom(4) if client else None, rsv1=rsv1)
        parts = [payload[i : i + fragment_size] for i in range(0, len(payload), fragment_size)]
        last = len(parts) - 1
        return b"".join(
            encode_frame(
                opcode if i == 0 else OP_CONT,
                part,
                os.urandom(4) if client else None,
                fin=i == last,
                rsv1=rsv1 and i == 0,
            )
            for i, part in enumerate(parts)
        )

    # ---------------------------------------------------------------------------------- receiving
    def receive_data(self, data: bytes) -> None:
        """Bytes as the connection delivered them, in pieces of any size."""
        buf = self._buf
        pos = self._pos
        if pos:
            if pos == len(buf):
                buf.clear()
                self._pos = 0
            elif pos > _COMPACT:
                del buf[:pos]
                self._pos = 0
        buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read as a whole frame."""
        return len(self._buf) - self._pos

    def events(self) -> Iterator[Message]:
        """Every message the bytes received so far complete, in order."""
        return iter(self.next_message, None)

    def next_message(self) -> Message | None:
        """The next whole message, or None until more bytes are received. Raises ValueError on a
        stream that breaks RFC 6455 (the connection is then beyond repair)."""
        buf = self._buf
        size = len(buf)
        pos = self._pos
        while True:
            if size - pos < 2:
                return None
            b0 = buf[pos]
            b1 = buf[pos + 1]
            n = b1 & 0x7F
            start = pos + 2
            if n > 125:
                if n == 126:
                    if size - pos < 4:
                        return None
                    n = _U16.unpack_from(buf, start)[0]
                    start += 2
                else:
                    if size - pos < 10:
                        return None
                    n = _U64.unpack_from(buf, start)[0]
                    if n >> 63:
                        raise ValueError("a frame length with its most significant bit set")
                    start += 8
            if b1 & MASKED:  # (servers must not mask: read either way, the recorder reads both sides)
                end = start + 4 + n
                if end > size:
                    return None
                payload = mask_payload(bytes(buf[start + 4 : end]), bytes(buf[start : start + 4]))
            else:
                end = start + n
                if end > size:
                    return None
                payload = bytes(buf[start:end])
            self._pos = end
            # the common frame, first: a whole text or binary message, uncompressed, not inside another
            if (b0 == 0x81 or b0 == 0x82) and self._frags is None:
                return b0 & 0x0F, payload, end - pos
            message = self._frame(b0, payload, end - pos)
            if message is not None:
                return message
            pos = end

    def _frame(self, b0: int, payload: bytes, wire: int) -> Message | None:
        """Any other frame: a control frame, a compressed message, a fragment (None: the message it
        belongs to is not whole yet)."""
        if b0 & _RSV23:
            raise ValueError("reserved bits RSV2/RSV3 set")
        opcode = b0 & 0x0F
        fin = b0 & FIN
        rsv1 = bool(b0 & RSV1)
        if opcode >= OP_CLOSE:
            if opcode not in CONTROL_OPCODES:
                raise ValueError(f"unknown control opcode 0x{opcode:x}")
            if not fin or rsv1 or len(payload) > MAX_CONTROL_PAYLOAD:
                raise ValueError("a control frame fragmented, compressed or over 125 bytes")
            return opcode, payload, wire
        if opcode == OP_CONT:
            frags = self._frags
            if frags is None:
                raise ValueError("a continuation frame with no message to continue")
            if rsv1:
                raise ValueError("RSV1 on a continuation frame")
            frags.append(payload)
            self._wire += wire
            if not fin:
                return None
            self._frags = None
            return self._whole(self._frag_op, b"".join(frags), self._frag_rsv1, self._wire)
        if opcode not in DATA_OPCODES:
            raise ValueError(f"unknown data opcode 0x{opcode:x}")
        if self._frags is not None:
            raise ValueError("a new message began before the fragmented one ended")
        if rsv1 and self.inflate is None:
            raise ValueError("a compressed frame without permessage-deflate")
        if fin:
            return self._whole(opcode, payload, rsv1, wire)
        self._frags, self._frag_op, self._frag_rsv1, self._wire = [payload], opcode, rsv1, wire
        return None

    def _whole(self, opcode: int, payload: bytes, compressed: bool, wire: int) -> Message:
        if compressed:
            assert self.inflate is not None
            try:
                payload = self.inflate.decompress(payload)
            except zlib.error as e:  # a malformed message, as a malformed event is
                raise ValueError(f"permessage-deflate: {e}") from None
        return opcode, payload, wire
