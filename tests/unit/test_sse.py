"""core.sse, the one SSE parser (the agents' HTTP streams, the recorder's copies of them): line ends
of all three kinds and split between reads, the one-space rule, comments, dispatch on a blank line,
any split point, and the mock's encoding read back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.core.sse import SseParser, encode, iter_sse


def parse(*pieces: bytes) -> list[list[tuple[str, bytes]]]:
    """What each piece completes, piece by piece."""
    p = SseParser()
    return [p.feed(piece) for piece in pieces]


def test_events_with_names_and_multi_line_data() -> None:
    body = b'event: response.created\ndata: {"a":1}\n\ndata: x\ndata: y\n\n'
    assert parse(body) == [[("response.created", b'{"a":1}'), ("", b"x\ny")]]


def test_a_crlf_boundary_split_between_two_reads() -> None:
    """Wherever the CRLF CRLF between two events is cut, two events (the recorder's old reader merged
    them into one when the cut fell inside a CRLF, and kept a stray \\r when it fell after the first)."""
    assert parse(b'data: {"a":1}\r\n', b'\r\ndata: {"b":2}\r\n\r\n') == [
        [],
        [("", b'{"a":1}'), ("", b'{"b":2}')],
    ]
    assert parse(b'data: {"a":1}\r\n\r', b'\ndata: {"b":2}\r\n\r\n') == [
        [("", b'{"a":1}')],
        [("", b'{"b":2}')],
    ]
    assert parse(b'data: {"a":1}\r', b'\n\r\ndata: {"b":2}\r\n\r\n') == [
        [],
        [("", b'{"a":1}'), ("", b'{"b":2}')],
    ]


def test_a_crlf_split_inside_is_one_line_end_not_two() -> None:
    # \r at the end of one read, \n at the start of the next: one line end (an extra blank line would
    # dispatch "a" alone)
    assert parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [[], [], [("", b"a\nb")], []]
    # the blank line's \r dispatches at once, without waiting for its \n
    assert parse(b"data: a\r\n\r", b"\n") == [[("", b"a")], []]


def test_cr_only_and_mixed_line_ends() -> None:
    assert parse(b"event: e\rdata: 1\r\rdata: 2\n\ndata: 3\r\n\r\n") == [
        [("e", b"1"), ("", b"2"), ("", b"3")]
    ]


def test_one_space_after_the_colon_is_stripped_and_no_more() -> None:
    assert parse(b"data:x\n\ndata: x\n\ndata:  x \n\nevent:  e\ndata:\n\n") == [
        [("", b"x"), ("", b"x"), ("", b" x "), (" e", b"")]
    ]


def test_comments_other_fields_and_blank_lines_without_data() -> None:
    body = (
        b": keep-alive\n"
        b"\n"  # a blank line with no data: nothing dispatched
        b"event: dropped\n"
        b"\n"  # ... and the name it had is forgotten
        b"id: 7\nretry: 1000\nfoo: bar\n:data: not data\n"
        b"data: kept\n"
        b"\n"
        b"data\n"  # a field without a colon: the empty value
        b"data\n"
        b"\n"
    )
    assert parse(body) == [[("", b"kept"), ("", b"\n")]]


def test_a_byte_order_mark_is_dropped_even_split() -> None:
    assert parse(b"\xef\xbb\xbfdata: a\n\n") == [[("", b"a")]]
    assert parse(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [[], [], [("", b"a")]]
    assert parse(b"data: \xef\xbb\xbf\n\n") == [[("", b"\xef\xbb\xbf")]]  # (only at the start)


def test_the_end_of_a_body() -> None:
    p = SseParser()
    assert p.feed(b"data: a\n\ndata: b\ndata: c") == [("", b"a")]
    assert p.flush() == [("", b"b\nc")]  # the unterminated last event, when asked
    assert p.flush() == []
    assert list(iter_sse([b"event: x\n", b"data: 1\n", b"\n", b"data:z\n"])) == [("x", b"1"), ("", b"z")]


BODY = (
    b"\xef\xbb\xbf: hello\r\n"
    b"event: response.created\r\n"
    b'data: {"type":"response.created"}\r\n\r\n'
    b"event: response.output_text.delta\n"
    b'data: {"delta":"a"}\n\n'
    b"data: line one\rdata:line two\r\r"
    b"id: 1\r\n"
    b"data:  spaced\r\n\r\n"
    b"data: [DONE]\n\n"
)
EVENTS = [
    ("response.created", b'{"type":"response.created"}'),
    ("response.output_text.delta", b'{"delta":"a"}'),
    ("", b"line one\nline two"),
    ("", b" spaced"),
    ("", b"[DONE]"),
]


def test_fed_byte_by_byte() -> None:
    p = SseParser()
    assert [e for i in range(len(BODY)) for e in p.feed(BODY[i : i + 1])] == EVENTS


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=20))
def test_any_split_point_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted({*cuts, 0, len(BODY)})
    p = SseParser()
    got = [e for a, b in zip(points, points[1:], strict=False) for e in p.feed(BODY[a:b])]
    assert got == EVENTS and p.flush() == []


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["", "response.created", "x"]),
            st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b),
        ),
        max_size=6,
    )
)
def test_the_mocks_encoding_reads_back(events: list[tuple[str, bytes]]) -> None:
    wire = b"".join(encode(name, data) for name, data in events)
    assert list(iter_sse([wire[i : i + 3] for i in range(0, len(wire), 3)])) == events
