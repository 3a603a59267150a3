"""The mock's event loop (agentload/mock/timers.py), in-process: timers that never fire early, I/O as
before, no leaked file descriptor. How much earlier than asyncio's default they fire is
bench/mock_timers.py's; that the mock package imports under gevent is tests/e2e/test_mock_timers.py's."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import pytest

from agentload.mock.timers import PreciseEpollSelector, precise_loop

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="timerfd is Linux's")


@linux_only
def test_the_mock_loop_uses_the_timerfd_selector_and_closes_its_fd() -> None:
    loop = precise_loop()
    selector = loop._selector  # type: ignore[attr-defined]
    assert isinstance(selector, PreciseEpollSelector)
    tfd = selector._tfd
    os.fstat(tfd)  # open while the loop is
    loop.close()
    with pytest.raises(OSError):
        os.fstat(tfd)


@linux_only
def test_a_sleep_arms_the_timerfd_at_its_deadline() -> None:
    """The wait ends on the timerfd: after a 2 ms select the timer has expired once (its counter,
    read from the fd, says so); a zero-timeout select arms nothing."""
    loop = precise_loop()
    selector = loop._selector  # type: ignore[attr-defined]
    try:
        selector.select(0)
        with pytest.raises(BlockingIOError):
            os.read(selector._tfd, 8)
        assert selector.select(0.002) == []
        assert int.from_bytes(os.read(selector._tfd, 8), sys.byteorder) == 1
    finally:
        loop.close()


@linux_only
def test_every_timer_fires_in_order_on_the_mock_loop() -> None:
    """Sub-millisecond deadlines, many at once: each fires, in order, none before its time."""

    async def main() -> list[tuple[float, float, int]]:
        loop = asyncio.get_running_loop()
        fired: list[tuple[float, float, int]] = []
        delays = [0.0003 + 0.00037 * i for i in range(40)]
        start = loop.time()

        def fire(i: int, due: float) -> None:
            fired.append((loop.time(), due, i))

        for i, d in enumerate(delays):
            loop.call_at(start + d, fire, i, start + d)
        await asyncio.sleep(delays[-1] + 0.05)
        return fired

    with asyncio.Runner(loop_factory=precise_loop) as runner:
        fired = runner.run(main())
    assert [i for _, _, i in fired] == list(range(40))
    assert [(at, due) for at, due, _ in fired if at < due] == []


@linux_only
def test_io_and_timers_interleave_on_the_mock_loop() -> None:
    """The timerfd sits in the same epoll set: sockets must still wake the loop, and a pending
    timer's expiry must not be mistaken for a socket's readiness."""

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        loop.call_later(0.004, b.send, b"ping")
        got = await asyncio.wait_for(loop.sock_recv(a, 16), timeout=2)
        await asyncio.sleep(0.002)  # a timer after the I/O
        a.close()
        b.close()
        return got

    with asyncio.Runner(loop_factory=precise_loop) as runner:
        assert runner.run(main()) == b"ping"
