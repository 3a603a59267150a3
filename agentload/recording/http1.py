"""HTTP/1.1 messages relayed byte for byte between two asyncio streams, with a decoded copy of each body
for the recorder to read. Framing only as far as relaying needs: heads, Content-Length, chunked, and
bodies that end with the connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

MAX_HEAD = 1 << 20


class NotHttp(ValueError):
    """What arrived is not an HTTP/1.1 message head."""


@dataclass
class Head:
    start_line: str  # "POST /v1/responses HTTP/1.1" or "HTTP/1.1 200 OK"
    headers: list[tuple[str, str]]
    raw_size: int  # the head's bytes on the wire

    def get(self, name: str, default: str = "") -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), default)

    def set(self, name: str, value: str) -> None:
        low = name.lower()
        self.headers = [(k, value if k.lower() == low else v) for k, v in self.headers]

    def encode(self) -> bytes:
        lines = [self.start_line, *(f"{k}: {v}" for k, v in self.headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @property
    def status(self) -> int:
        parts = self.start_line.split(" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else "/"

    def wants_close(self) -> bool:
        return "close" in self.get("connection").lower()


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head, or None at a clean end of stream before one began."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise NotHttp("the stream ended inside a message head") from None
    except asyncio.LimitOverrunError:
        raise NotHttp(f"a message head over {MAX_HEAD} bytes") from None
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    start = lines[0]
    if not (start.startswith("HTTP/1.") or start.endswith((" HTTP/1.1", " HTTP/1.0"))):
        raise NotHttp(f"not an HTTP/1.1 message: {start[:60]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, sep, v = line.partition(":")
        if not sep:
            raise NotHttp(f"a malformed header line: {line[:60]!r}")
        headers.append((k.strip(), v.strip()))
    return Head(start, headers, len(raw))


Sink = Callable[[bytes], None]


async def relay_body(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    head: Head,
    on_data: Sink,
    *,
    response_to: str | None = None,
) -> int:
    """Copies one body from ``reader`` to ``writer`` as it arrives; ``on_data`` gets its content (chunk
    framing removed). ``response_to``: the request's method, for a response (whose body may run to the
    end of the connection). Returns the bytes relayed."""
    if response_to is not None and (
        response_to == "HEAD" or head.status in (204, 304) or 100 <= head.status < 200
    ):
        return 0
    if "chunked" in head.get("transfer-encoding").lower():
        return await _relay_chunked(reader, writer, on_data)
    length = head.get("content-length")
    if length:
        return await _relay_exact(reader, writer, int(length), on_data)
    if response_to is None:
        return 0  # a request without a length has no body
    n = 0
    while data := await reader.read(65536):
        writer.write(data)
        on_data(data)
        n += len(data)
        await writer.drain()
    return n


async def _relay_exact(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, length: int, on_data: Sink
) -> int:
    left = length
    while left > 0:
        data = await reader.read(min(left, 65536))
        if not data:
            raise asyncio.IncompleteReadError(b"", left)
        writer.write(data)
        on_data(data)
        left -= len(data)
        await writer.drain()
    return length


async def _relay_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_data: Sink) -> int:
    n = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        n += len(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the blank line
                t = await reader.readuntil(b"\r\n")
                writer.write(t)
                n += len(t)
                if t == b"\r\n":
                    await writer.drain()
                    return n
        data = await reader.readexactly(size + 2)
        writer.write(data)
        on_data(data[:-2])
        n += len(data)
        await writer.drain()
