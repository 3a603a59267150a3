"""The mock's byte ledger on its own (in-process): bounded, its totals exact, its pruning rare, a close
frame read with the last message counted as the close's. Its bytes against a client's socket:
tests/e2e/test_mock_measures.py."""

from __future__ import annotations

from agentload.mock.ledger import ByteLedger


def test_ledger_stays_bounded_and_keeps_totals_exact() -> None:
    ledger = ByteLedger(max_exchanges=3, max_closed=2)
    for i in range(50):
        conn = ledger.open(f"127.0.0.1:{i}")
        conn.rx += 100
        conn.mark(ledger, "http", "/v1/responses")
        conn.tx += 1000 + i
        conn.closed = True
    # kept: max_closed x 2, plus those whose exchanges are still listed (3), plus the newest
    assert len(ledger.connections) <= 2 * 2 + 3 + 1 and len(ledger.exchanges) == 3
    totals = ledger.snapshot()["totals"]
    assert totals == {
        "received": 5000,
        "sent": 50 * 1000 + sum(range(50)),
        "connections": 50,
        "exchanges": 50,
        "open": 0,
    }
    ledger.reset()
    assert ledger.snapshot()["totals"] == {
        "received": 0,
        "sent": 0,
        "connections": 0,
        "exchanges": 0,
        "open": 0,
    }


def test_ledger_prunes_rarely_with_many_open_connections() -> None:
    """10,000 open sockets must not make every new connection scan them all."""
    ledger = ByteLedger(max_exchanges=100_000, max_closed=100)
    scans = 0
    real = ledger.forget_closed

    def counted(keep: int) -> None:
        nonlocal scans
        scans += 1
        real(keep)

    ledger.forget_closed = counted  # type: ignore[method-assign]
    for i in range(5000):
        ledger.open(f"127.0.0.1:{i}")  # all stay open
    assert scans <= 5000 // 100, scans
    assert len(ledger.connections) == 5000


def test_a_close_frame_read_with_the_last_message_is_the_close_exchange_s() -> None:
    """A client cut off right after a request sends its close frame at once: both can arrive in one
    read, and the message's exchange (marked when it is handed over) would hold the close's bytes too.
    Its exact size (a control frame) moves them to the close exchange."""
    ledger = ByteLedger()
    conn = ledger.open("127.0.0.1:1")
    conn.rx += 300  # the upgrade request
    conn.mark(ledger, "ws-handshake", "/v1/responses")
    conn.rx += 4357 + 8  # the message and the 8-byte close frame (code 1000, masked), in one read
    message = conn.mark(ledger, "ws-message", "/v1/responses")
    close = conn.mark(ledger, "ws-close", "/v1/responses", frame=8)
    got = {e["kind"]: e["received"] for e in ledger.snapshot()["exchanges"]}
    assert got == {"ws-handshake": 300, "ws-message": 4357, "ws-close": 8}
    assert message.rx_mark == close.rx_start
    # a close that came on its own read changes nothing
    conn.rx += 500
    conn.mark(ledger, "ws-message", "/v1/responses")
    conn.rx += 8
    conn.mark(ledger, "ws-close", "/v1/responses", frame=8)
    assert [e["received"] for e in ledger.snapshot()["exchanges"]][-2:] == [500, 8]
