"""The link model (--link): its spec, and what the agents' sockets wait for it, on a fake clock."""

from __future__ import annotations

import random

import pytest

from agentload.client import Timeouts, TransportConfig, make_transport
from agentload.client.wire.counting import CountingSocket, counting_socket
from agentload.client.wire.link import RTO_MIN_S, Link
from agentload.core.link import MSS, PROFILES, LinkSpec, LinkSpecError, link_order, parse_link, split_links
from agentload.core.slowstart import INITIAL_WINDOW, burst, stall_s
from agentload.core.strategies import BY_NAME


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def link_on(spec: str, seed: int = 1) -> tuple[Link, FakeClock]:
    clock = FakeClock()
    parsed = parse_link(spec)
    assert parsed is not None
    return Link(parsed, random.Random(seed), clock, clock.sleep), clock


def send_all(link: Link, n: int) -> None:
    """What a socket's sendall does through the link: slice after slice until every byte is out."""
    while n:
        k = link.before_send(n)
        link.sent(k, k)
        n -= k


def test_a_150_kb_body_at_1_mbit_takes_1_2_s_and_the_round_trip() -> None:
    link, clock = link_on("rtt=40ms,up=1mbit")  # slow start after idle, as every link has by default
    t0 = clock()
    send_all(link, 150_000)
    # slow start adds no round trip here: the initial window (ten segments) takes 116 ms to send at
    # 1 Mbit/s, longer than its first acknowledgement takes (a segment's 12 ms and the 40 ms round
    # trip), so the window never holds the sender back: 1.2 s of serialisation, then the round trip
    iw = INITIAL_WINDOW * MSS
    assert stall_s(iw, 0.040, 1_000_000 / 8) == 0.0
    expected = 150_000 * 8 / 1_000_000 + 0.040
    assert clock() - t0 == pytest.approx(expected, rel=0.10)
    assert clock() - t0 == pytest.approx(expected, rel=1e-9)  # (the fake clock: exactly)


def test_a_large_body_on_a_fast_uplink_waits_for_its_windows_and_a_small_one_does_not() -> None:
    link, clock = link_on("rtt=40ms,up=14mbit")  # broadband's figures
    rate, iw = 14e6 / 8, INITIAL_WINDOW * MSS
    t0 = clock()
    send_all(link, 150_000)  # windows of 14.5, 29, 58 KB, each followed by a stall, then the rest
    stalls = burst(150_000, iw, 0.040, rate).stall_s
    assert stalls == pytest.approx(sum(stall_s(w, 0.040, rate) for w in (iw, 2 * iw, 4 * iw)))
    assert clock() - t0 == pytest.approx(0.040 + 150_000 / rate + stalls)
    link.received(500)  # the reply; then a pause of a whole turn: the window restarts
    clock.t += 10.0
    t1 = clock()
    send_all(link, 2_000)  # a continuation: inside the initial window, no stall
    assert clock() - t1 == pytest.approx(0.040 + 2_000 / rate)


def test_the_window_restarts_after_an_idle_timeout_and_is_kept_without_the_restart() -> None:
    rate, iw = 14e6 / 8, INITIAL_WINDOW * MSS
    for mode, pause, restarted in (("idle", 10.0, True), ("idle", 0.1, False), ("fresh", 10.0, False)):
        link, clock = link_on(f"rtt=40ms,up=14mbit,slowstart={mode}")
        send_all(link, 15 * iw)  # opens the window to 16 initial windows
        link.received(500)
        clock.t += pause  # 0.1 s: inside the timeout (40 ms + 200 ms)
        t1 = clock()
        send_all(link, 7 * iw)
        stalls = burst(7 * iw, iw, 0.040, rate).stall_s if restarted else 0.0
        assert clock() - t1 == pytest.approx(0.040 + 7 * iw / rate + stalls), (mode, pause)


def test_a_new_connection_starts_from_the_initial_window_and_off_has_none() -> None:
    rate, iw = 14e6 / 8, INITIAL_WINDOW * MSS
    link, clock = link_on("rtt=40ms,up=14mbit,slowstart=fresh")
    send_all(link, 15 * iw)
    link.received(500)
    link.handshake(1)  # a reconnect: its own window
    t1 = clock()
    send_all(link, 7 * iw)
    assert clock() - t1 == pytest.approx(0.040 + 7 * iw / rate + burst(7 * iw, iw, 0.040, rate).stall_s)
    off, clock = link_on("rtt=40ms,up=14mbit,slowstart=off")
    t0 = clock()
    send_all(off, 150_000)
    assert clock() - t0 == pytest.approx(0.040 + 150_000 / rate)  # the round trip and the rate alone


def test_a_request_pays_one_round_trip_however_many_sends_it_takes() -> None:
    link, clock = link_on("rtt=40ms")
    t0 = clock()
    for _ in range(3):  # headers, then body in pieces: one request
        send_all(link, 500)
    assert clock() - t0 == pytest.approx(0.040)
    link.received(200)  # the reply; the next send is a new request
    t1 = clock()
    send_all(link, 500)
    assert clock() - t1 == pytest.approx(0.040)


def test_the_downlink_lets_bytes_through_at_its_rate_and_queues_reads_behind_each_other() -> None:
    link, clock = link_on("down=8mbit")  # 1 MB/s
    t0 = clock()
    assert link.received(100_000)  # waited 0.1 s
    assert clock() - t0 == pytest.approx(0.1)
    link.received(100_000)  # came during the wait: queued behind the first
    assert clock() - t0 == pytest.approx(0.2)
    assert not link_on("rtt=10ms")[0].received(100_000)  # no downlink rate: nothing to wait for


def test_handshakes_cost_their_round_trips() -> None:
    link, clock = link_on("rtt=30ms")
    t0 = clock()
    link.handshake(1)  # TCP
    link.handshake(2)  # TCP and TLS 1.3, done together under a TLS socket
    assert clock() - t0 == pytest.approx(0.090)


def test_jitter_draws_each_round_trip_within_its_range() -> None:
    link, _ = link_on("rtt=60ms,jitter=10ms")
    draws = [link.round_trip_s() for _ in range(2000)]
    assert min(draws) >= 0.050 and max(draws) <= 0.070
    assert sum(draws) / len(draws) == pytest.approx(0.060, abs=0.001)


def test_a_lost_segment_costs_a_round_trip_or_at_the_tail_a_timeout() -> None:
    link, clock = link_on("rtt=50ms,loss=50%", seed=5)
    delays = [link._loss_s(MSS, 10 * MSS) for _ in range(400)]  # a segment with ten after it
    assert set(delays) <= {0.0, 0.050} and 0.35 < delays.count(0.050) / 400 < 0.65
    tails = {link._loss_s(MSS, 0) for _ in range(100)}  # the last segment: no duplicate acks follow
    assert tails == {0.0, RTO_MIN_S}


def test_the_time_scale_shortens_round_trips_and_widens_rates() -> None:
    spec = parse_link("broadband,scale=0.1")
    assert spec is not None
    e = spec.effective()
    assert e.rtt_ms == pytest.approx(4.0) and e.up_kbps == pytest.approx(140_000)
    assert spec.request_s(14_000) == pytest.approx(0.004 + 14_000 * 8 / 140e6)
    assert spec.label == "broadband" and spec.text == "broadband,scale=0.1"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("broadband", "broadband"),
        ("  Mobile ", "mobile"),
        ("rtt=40ms,up=20mbit,down=100mbit", "rtt=40ms,up=20mbit,down=100mbit"),
        ("rtt=0.04s,up=20000,down=0.1gbit", "rtt=40ms,up=20mbit,down=100mbit"),
        ("broadband,rtt=80ms", "broadband,rtt=80ms"),
        ("datacenter,loss=0.1%,jitter=1", "datacenter,jitter=1ms,loss=0.1%"),
        ("up=512", "up=512kbit"),
    ],
)
def test_link_specs_parse_to_one_text(text: str, canonical: str) -> None:
    spec = parse_link(text)
    assert spec is not None and spec.text == canonical
    assert parse_link(spec.text) == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("bogus", "unknown profile 'bogus'"),
        ("rtt=abc", "not a value like 40ms"),
        ("rtt=-5ms", "negative"),
        ("up=0", "a rate above 0"),
        ("loss=70%", "from 0 to 50%"),
        ("scale=0", "above 0"),
        ("rtt=1ms,rtt=2ms", "given twice"),
        ("speed=1", "unknown key 'speed'"),
        ("rtt=40ms,mobile", "a profile comes first"),
        ("rtt=0", "models nothing"),
        ("broadband,", "an empty item"),
    ],
)
def test_bad_link_specs_say_what_to_write(text: str, says: str) -> None:
    with pytest.raises(LinkSpecError, match=says):
        parse_link(text)


def test_no_link_is_none_and_costs_the_sockets_nothing() -> None:
    for text in ("", "none", "off"):
        assert parse_link(text) is None
    assert CountingSocket.link is None
    sock = counting_socket(counter=None)  # type: ignore[arg-type]
    try:
        assert sock.link is None
    finally:
        sock.close()
    t = make_transport(BY_NAME["ws"], "http://127.0.0.1:9/v1", {}, TransportConfig(Timeouts(1, 1, 1)))
    assert t.link is None  # type: ignore[attr-defined]
    with_link = TransportConfig(Timeouts(1, 1, 1), PROFILES["mobile"])
    assert make_transport(BY_NAME["ws"], "http://127.0.0.1:9/v1", {}, with_link).link is not None  # type: ignore[attr-defined]


def test_sweep_link_lists_and_row_order() -> None:
    assert split_links("datacenter,broadband,mobile") == ["datacenter", "broadband", "mobile"]
    assert split_links("rtt=40ms,up=20mbit") == ["rtt=40ms,up=20mbit"]
    assert split_links("none;broadband;rtt=80ms,up=1mbit") == ["none", "broadband", "rtt=80ms,up=1mbit"]
    texts = ["mobile", "", "broadband", "datacenter", "up=512kbit", "up=2mbit"]
    assert sorted(texts, key=link_order) == [
        "",
        "up=2mbit",
        "up=512kbit",
        "datacenter",
        "broadband",
        "mobile",
    ]
    assert LinkSpec().off and not PROFILES["datacenter"].off


def test_the_older_uplink_flag_is_the_links_uplink() -> None:
    from agentload.runtime.options import read_link

    alone = read_link("", 512)
    assert alone is not None and alone.text == "up=512kbit"
    over = read_link("broadband", 512)
    assert (
        over is not None and over.up_kbps == 512 and over.rtt_ms == 40 and over.text == "broadband,up=512kbit"
    )
    assert read_link("none", 0) is None


def test_older_sweep_folders_read_their_uplinks_as_links() -> None:
    from agentload.sweep.spec import CellSpec, SweepSpec

    old = {
        "strategies": ["ws"],
        "agents": [2],
        "tasks": ["all"],
        "models": ["gpt-5.4"],
        "uplinks_kbps": [0.0, 512.0],
    }
    spec = SweepSpec.from_dict(old)
    assert spec.links == ["", "up=512kbit"]
    cell = CellSpec.from_dict(
        {"strategy": "ws", "agents": 2, "task": "all", "model": "gpt-5.4", "uplink_kbps": 512.0}
    )
    assert (
        cell.link == "up=512kbit" and cell.id == "ws-a2-all-gpt-5.4-up512k"
    )  # the id an older sweep gave it
    assert spec.cell_link(cell) == "up=512kbit,scale=0.1"  # at the embedded mock's time scale
    assert CellSpec("ws", 2, "all", "gpt-5.4", "broadband").id == "ws-a2-all-gpt-5.4-lbroadband"
