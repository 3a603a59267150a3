"""Compression on the wire, the transforms apart from any I/O: permessage-deflate (RFC 7692), one
``MessageDeflate`` per direction of a connection, used by the agents' WebSocket client and the mock
alike; HTTP request bodies (gzip, zstd); and streamed HTTP bodies (a compressed SSE reply: each write
sync-flushed, so no event waits in the compressor; the agents, the mock and the recorder share them).

A message is compressed with a sync flush and its 4-byte tail (00 00 ff ff) removed; the receiver puts
the tail back before inflating. With context takeover (the default) a later message refers back to
earlier ones, which is where most of the gain on repetitive JSON comes from; ``no_context_takeover``
starts every message afresh. ``window_bits`` (8-15) and ``mem_level`` (1-9) bound the zlib state a
connection holds: the compressor keeps about 2^(window_bits+2) + 2^(mem_level+9) bytes, the
decompressor 2^window_bits plus its own 7 KB, which is what 10,000 connections on one worker multiply
(bench/deflate_memory.py prints the figures).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

TAIL = b"\x00\x00\xff\xff"


class BodyEncoding(StrEnum):
    """How an HTTP request body is compressed (Content-Encoding)."""

    OFF = "off"
    GZIP = "gzip"
    ZSTD = "zstd"


def encode_body(body: bytes, encoding: BodyEncoding) -> bytes:
    """``body`` compressed for its Content-Encoding (gzip at zlib's level 6, zstd at its level 3)."""
    if encoding == BodyEncoding.GZIP:
        z = zlib.compressobj(6, zlib.DEFLATED, 31)  # (31: the gzip wrapper)
        return z.compress(body) + z.flush()
    if encoding == BodyEncoding.ZSTD:
        return bytes(_zstd().compress(body))
    return body


def _zstd() -> Any:
    from backports import zstd  # (imported where used: only zstd bodies need it loaded)

    return zstd


class StreamEncoder:
    """A streamed body compressed for its Content-Encoding, each piece flushed as it is written."""

    def __init__(self, encoding: BodyEncoding) -> None:
        self.encoding = encoding
        if encoding == BodyEncoding.GZIP:
            self._z: Any = zlib.compressobj(6, zlib.DEFLATED, 31)
        elif encoding == BodyEncoding.ZSTD:
            self._z = _zstd().ZstdCompressor()
        else:
            raise ValueError(f"no stream encoder for {encoding!r}")

    def compress(self, data: bytes) -> bytes:
        if self.encoding == BodyEncoding.GZIP:
            out: bytes = self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)
            return out
        return bytes(self._z.compress(data, self._z.FLUSH_BLOCK))

    def finish(self) -> bytes:
        if self.encoding == BodyEncoding.GZIP:
            return bytes(self._z.flush())
        return bytes(self._z.flush(self._z.FLUSH_FRAME))


class StreamDecoder:
    """A body's Content-Encoding undone as it arrives: gzip, deflate, zstd, or none; ValueError for
    an encoding it does not know, or for data that does not decode."""

    def __init__(self, content_encoding: str) -> None:
        enc = content_encoding.strip().lower()
        self.encoding = "off" if enc in ("", "identity", "off") else enc
        self._z: Any = None
        if enc in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(47)
        elif enc == "deflate":
            self._z = zlib.decompressobj(15)
        elif enc == "zstd":
            self._z = _zstd().ZstdDecompressor()
        elif self.encoding != "off":
            raise ValueError(f"Content-Encoding {content_encoding!r}")

    def decompress(self, data: bytes) -> bytes:
        if self._z is None:
            return data
        try:
            return bytes(self._z.decompress(data))
        except Exception as e:  # zlib.error, zstd.ZstdError: a body that does not decode
            raise ValueError(f"{self.encoding}: {e}") from None


def accepted_encoding(accept: str) -> BodyEncoding:
    """The reply encoding an Accept-Encoding header asks for, of those a streamed reply can take (the
    first listed with a non-zero weight), or OFF."""
    for part in accept.split(","):
        name, _, params = part.strip().partition(";")
        if "q=0" in params.replace(" ", "") and "q=0." not in params.replace(" ", ""):
            continue
        name = name.strip().lower()
        if name in (BodyEncoding.GZIP, BodyEncoding.ZSTD):
            return BodyEncoding(name)
    return BodyEncoding.OFF


EXTENSION = "permessage-deflate"


@dataclass(frozen=True)
class DeflateParams:
    """What one side of a connection agreed to (from the offer and the server's answer)."""

    client_max_window_bits: int = 15
    server_max_window_bits: int = 15
    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False

    def offer(self) -> str:
        """The client's Sec-WebSocket-Extensions offer: its own window, and a bound on the server's
        when that is below zlib's 15 bits (the state a connection's decompressor holds)."""
        parts = [EXTENSION, f"client_max_window_bits={self.client_max_window_bits}"]
        if self.server_max_window_bits < 15:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        return "; ".join(parts)


def parse_answer(header: str, offered: DeflateParams) -> DeflateParams | None:
    """The server's Sec-WebSocket-Extensions answer: the parameters in force, or None when it declined
    (no permessage-deflate in it). A value past the offer raises ValueError (RFC 7692 7.1: fail)."""
    for ext in header.split(","):
        name, *params = [p.strip() for p in ext.split(";")]
        if name.lower() != EXTENSION:
            continue
        values: dict[str, Any] = {}
        for p in params:
            k, _, v = p.partition("=")
            values[k.strip().lower()] = v.strip().strip('"')
        client_bits = int(values.get("client_max_window_bits") or offered.client_max_window_bits)
        server_bits = int(values.get("server_max_window_bits") or 15)
        if (
            not 8 <= client_bits <= offered.client_max_window_bits
            or not 8 <= server_bits <= offered.server_max_window_bits
        ):
            raise ValueError(f"permessage-deflate window bits out of range: {header!r}")
        return DeflateParams(
            client_max_window_bits=client_bits,
            server_max_window_bits=server_bits,
            client_no_context_takeover="client_no_context_takeover" in values
            or offered.client_no_context_takeover,
            server_no_context_takeover="server_no_context_takeover" in values,
        )
    return None


def mem_level_for(window_bits: int) -> int:
    """zlib's memLevel to pair with a window: 8 (zlib's default) at 15 bits, one less per bit below,
    so a small window is not paired with a large hash table."""
    return max(1, min(8, window_bits - 7))


class MessageDeflate:
    """Compresses the messages one side sends."""

    def __init__(
        self, window_bits: int, no_context_takeover: bool, level: int = 6, mem_level: int = 8
    ) -> None:
        # (zlib takes no raw window of 8 bits for deflate: 9 is the least, and a window of 2^9 fits 2^8)
        self.window_bits = max(9, window_bits)
        self.no_context_takeover = no_context_takeover
        self.level, self.mem_level = level, mem_level
        self._z: zlib._Compress | None = None

    def _new(self) -> zlib._Compress:
        return zlib.compressobj(self.level, zlib.DEFLATED, -self.window_bits, self.mem_level)

    def compress(self, payload: bytes) -> bytes:
        if self._z is None or self.no_context_takeover:
            self._z = self._new()
        data = self._z.compress(payload) + self._z.flush(zlib.Z_SYNC_FLUSH)
        return data[:-4] if data.endswith(TAIL) else data


class MessageInflate:
    """Decompresses the messages the other side sent."""

    def __init__(self, window_bits: int, no_context_takeover: bool) -> None:
        self.window_bits = window_bits
        self.no_context_takeover = no_context_takeover
        self._z: zlib._Decompress | None = None

    def decompress(self, data: bytes) -> bytes:
        if self._z is None or self.no_context_takeover:
            self._z = zlib.decompressobj(-self.window_bits)
        return self._z.decompress(data + TAIL)
