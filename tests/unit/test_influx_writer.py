"""The batch writer's accounting with nobody listening (in-process: a free port, no server): every
point ends written, rejected or dropped, and is counted. Against real servers:
tests/e2e/test_influx_writer.py."""

from __future__ import annotations

import time

from agentload.influx.senders import InfluxTarget
from agentload.influx.writer import PointWriter, WriterSettings
from tests.servers import INFLUX_DB, free_port


def test_points_beyond_the_buffer_and_unsent_at_close_are_counted() -> None:
    target = InfluxTarget(url=f"http://127.0.0.1:{free_port()}", db=INFLUX_DB)
    w = PointWriter(target.sender(), WriterSettings(batch_size=5, max_buffer=5, first_backoff_s=0.05)).start()
    t0 = time.time_ns()
    for i in range(8):
        w.add(f"nowhere,worker=w f={i}i {t0 + i}")
    c = w.close(timeout_s=0.5)
    assert c.written == 0
    assert c.dropped_full == 3
    assert c.dropped_unsent == 5
    assert c.failed_attempts >= 1
    assert c.written + c.dropped == 8
