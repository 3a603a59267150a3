"""TCP slow start as the link models it (core.slowstart): the window's arithmetic, on its own."""

from __future__ import annotations

import pytest

from agentload.core.link import parse_link
from agentload.core.slowstart import (
    INITIAL_WINDOW,
    MSS,
    RTO_MIN_S,
    SlowStart,
    after_idle,
    burst,
    grown,
    rto_s,
    stall_s,
)

IW = INITIAL_WINDOW * MSS  # 14,480 bytes


def test_the_window_doubles_each_round_trip_until_the_bytes_are_out() -> None:
    # no rate limit: each full window waits a whole round trip for the acknowledgement opening the next
    one = burst(IW, IW, 0.040, 0.0)
    assert (one.rounds, one.stall_s) == (1, 0.0)  # it fits: no stall
    for rounds, nbytes in ((2, IW + 1), (2, 3 * IW), (3, 3 * IW + 1), (4, 15 * IW), (5, 15 * IW + 1)):
        b = burst(nbytes, IW, 0.040, 0.0)  # windows of 1, 2, 4, 8 initial windows: 1, 3, 7, 15 in all
        assert b.rounds == rounds, nbytes
        assert b.stall_s == pytest.approx(0.040 * (rounds - 1))


def test_a_stall_is_what_the_window_leaves_of_the_round_trip_at_the_links_rate() -> None:
    rate = 14_000_000 / 8  # broadband's uplink
    assert stall_s(IW, 0.040, rate) == pytest.approx(MSS / rate + 0.040 - IW / rate)
    assert stall_s(2 * IW, 0.040, rate) == pytest.approx(MSS / rate + 0.040 - 2 * IW / rate)
    # at 1 Mbit/s ten segments take 116 ms to send, longer than a 40 ms round trip: never a stall
    assert stall_s(IW, 0.040, 1_000_000 / 8) == 0.0
    b = burst(150_000, IW, 0.040, rate)  # windows 14.5, 29, 58 KB (stalls), then 116 KB holds the rest
    assert b.rounds == 4
    expected = sum(stall_s(w, 0.040, rate) for w in (IW, 2 * IW, 4 * IW))
    assert b.stall_s == pytest.approx(expected) and expected > 0.050


def test_the_window_grows_by_what_was_acknowledged_and_only_when_it_was_the_limit() -> None:
    assert grown(IW, IW) == 2 * IW  # a full window: doubled
    assert grown(IW, 2_000) == IW  # a small continuation does not open it
    assert grown(IW, IW // 2 + MSS) == IW + MSS * 2  # twice what was in flight
    assert burst(3 * IW, IW, 0.040, 0.0).cwnd == 4 * IW  # rounds of 1 and 2 windows: 4 after


def test_an_idle_longer_than_the_timeout_restarts_from_the_initial_window() -> None:
    rto = rto_s(0.040)
    assert rto == pytest.approx(0.040 + RTO_MIN_S)  # Linux: the round trip plus at least 200 ms
    big = 64 * IW
    assert after_idle(big, rto, rto, IW) == big  # not longer than the timeout: kept
    assert after_idle(big, 1.5 * rto, rto, IW) == big // 2  # halved for each timeout of idleness
    assert after_idle(big, 3.5 * rto, rto, IW) == big // 8
    assert after_idle(big, 30.0, rto, IW) == IW  # an agent's turn: down to the initial window
    assert after_idle(IW // 2, 30.0, rto, IW) == IW // 2  # never raised by the restart


def test_the_links_modes_restart_keep_or_have_no_window() -> None:
    idle, fresh, off = (parse_link(f"broadband,slowstart={m}") for m in ("idle", "fresh", "off"))
    assert idle is not None and fresh is not None and off is not None
    assert idle == parse_link("broadband") and idle.slow_start == SlowStart.IDLE  # the profiles' default
    big = 64 * IW
    assert idle.start_window(None, 0.0) == IW and fresh.start_window(None, 0.0) == IW  # a new connection
    assert idle.start_window(big, 10.0) == IW  # after a turn's pause: restarted
    assert fresh.start_window(big, 10.0) == big  # no reset when the restart is off
    assert off.window == 0 and off.start_window(big, 10.0) == 0
    # what a 150 KB body costs on broadband: its round trip and serialisation, plus the stalls when idle
    base = 0.040 + 150_000 * 8 / 14e6
    assert off.request_s(150_000) == pytest.approx(base)
    assert idle.request_s(150_000) == pytest.approx(base + burst(150_000, IW, 0.040, 14e6 / 8).stall_s)
    assert fresh.request(150_000, big)[0] == pytest.approx(base)  # the kept window holds it
    four = parse_link("broadband,iw=4")
    assert four is not None and four.window == 4 * MSS and four.text == "broadband,iw=4"


def test_the_time_scale_shortens_the_timeout_with_the_round_trip() -> None:
    scaled, real = parse_link("broadband,scale=0.1"), parse_link("broadband")
    assert scaled is not None and real is not None and scaled.rto_min_s == pytest.approx(0.02)
    big = 64 * IW
    assert scaled.start_window(big, 0.03) == big // 2  # (4 + 20 ms timeout: 30 ms idle is one)
    assert scaled.request_s(150_000) == pytest.approx(real.request_s(150_000) * 0.1)
