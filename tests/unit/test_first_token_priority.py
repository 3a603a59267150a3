"""The worker reads first tokens first: sockets armed for a first token (wire/rxstamp.py) are read
before streaming ones in the hub iteration after a burst, so a first token's read is not pushed past
the next packet. In-process: socket pairs and greenlets, no server."""

from __future__ import annotations

import socket

import gevent
from gevent.monkey import get_original

from agentload.client.wire import rxstamp
from agentload.client.wire.counting import CountingSocket, WireCounter
from tests.servers import wait_for

_block = get_original("time", "sleep")  # blocks the process, greenlets and all (gevent's would yield)


def test_agents_waiting_for_a_first_token_read_before_streaming_ones() -> None:
    """A burst: many sockets turn readable while the worker is busy. In the hub iteration that
    follows, the agents armed for a first token read first (libev priority), the streaming ones
    after, so the first tokens are read before a next packet can merge with them."""
    readers: list[CountingSocket] = []
    writers: list[socket.socket] = []
    for _ in range(8):
        a, b = socket.socketpair()
        reader = CountingSocket(fileno=a.detach())
        reader.counter, reader.stamps = WireCounter(), rxstamp.enable(reader)
        readers.append(reader)
        writers.append(b)
    armed = {2, 5}
    order: list[int] = []

    def agent(i: int) -> None:
        if i in armed:
            rxstamp.arm(readers[i])
        readers[i].recv(16)
        order.append(i)
        rxstamp.disarm(readers[i])

    agents = [gevent.spawn(agent, i) for i in range(8)]
    wait_for(lambda: all(r._read_event.active for r in readers), 5, "every agent to wait on its socket")
    for w in writers:
        w.send(b"x")
    _block(0.05)  # all eight are readable before the hub looks
    gevent.joinall(agents, timeout=5)
    try:
        assert sorted(order) == list(range(8))
        assert set(order[:2]) == armed, order
        assert all(r._read_event.priority == 0 for r in readers)  # disarm put them back
    finally:
        for r in readers:
            r.close()
        for w in writers:
            w.close()
