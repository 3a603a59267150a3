"""Server-sent events apart from any I/O: the one parser of the agents' HTTP streams and the recorder's
copies of them, and the encoding the mock writes.

``SseParser`` is fed a body's bytes in pieces of any size (as reads deliver them) and returns the events
each piece completes, as ``(event name, data)`` tuples: the name from the ``event:`` line ('' when there
is none: Chat Completions sends none), the ``data:`` lines joined by ``\\n`` and left undecoded (callers
decode only what they need). As the WHATWG's event-stream parsing says: a line ends in ``\\r\\n``, ``\\n``
or ``\\r`` (a ``\\r\\n`` split between two pieces is one line end), one space after a field's colon is
stripped and no more, a line that begins with a colon is a comment, ``id``, ``retry`` and unknown fields
are ignored, a blank line dispatches the event (none when it has no data), and a leading byte-order
mark is dropped. ``flush`` is for the end of a body: what an unterminated last event holds (the spec
drops it; the agents take it, the recorder does not ask). ``encode`` is the writing side (the mock's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

Event = tuple[str, bytes]  # (event name, data)
_BOM = b"\xef\xbb\xbf"


class SseParser:
    __slots__ = ("_tail", "_cr", "_event", "_data", "_start")

    def __init__(self) -> None:
        self._tail = b""  # the last line, until its end arrives
        self._cr = False  # the last piece ended in \r: a \n first in the next is the same line end
        self._event = ""
        self._data: list[bytes] = []
        self._start = True  # nothing read yet (a byte-order mark may come)

    def feed(self, data: bytes) -> list[Event]:
        """The events ``data`` completes."""
        if self._start:
            data = self._tail + data
            if len(data) < 3 and _BOM.startswith(data):
                self._tail = data  # (a mark, or the start of one)
                return []
            self._start, self._tail = False, b""
            if data.startswith(_BOM):
                data = data[3:]
        if self._cr:
            self._cr = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            self._cr = data[-1:] == b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        if self._tail:
            lines[0] = self._tail + lines[0]
        self._tail = lines.pop()
        return self._lines(lines) if lines else []

    def flush(self) -> list[Event]:
        """At the end of the body: its last line even without a line end, and the event it leaves
        undispatched (no blank line after it), if it has data."""
        tail, self._tail = self._tail, b""
        return self._lines([tail, b""] if tail else [b""])

    def _lines(self, lines: list[bytes]) -> list[Event]:
        out: list[Event] = []
        event, data = self._event, self._data
        for line in lines:
            if not line:  # dispatch
                if data:
                    out.append((event, data[0] if len(data) == 1 else b"\n".join(data)))
                    data = []
                event = ""
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line.startswith(b"event:"):
                event = (line[7:] if line[6:7] == b" " else line[6:]).decode("utf-8", "replace")
            elif line == b"data":  # a field without a colon has the empty value
                data.append(b"")
            elif line == b"event":
                event = ""
            # else: a comment (":..."), id, retry or a field the spec does not know: ignored
        self._event, self._data = event, data
        return out


def iter_sse(pieces: Iterable[bytes]) -> Iterator[Event]:
    """The events of a body read in ``pieces``, as each piece completes them (and the unterminated
    last one at its end: ``SseParser.flush``)."""
    parser = SseParser()
    feed = parser.feed
    for piece in pieces:
        yield from feed(piece)
    yield from parser.flush()


def encode(event: str, data: bytes) -> bytes:
    """One event on the wire: its ``event:`` line (none when ``event`` is ''), ``data`` in one ``data:``
    line, and the blank line that dispatches it. ``data`` holds no line break (JSON never does: its
    strings escape them; a check would cost the mock's streaming path more than the framing does)."""
    if event:
        return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"
