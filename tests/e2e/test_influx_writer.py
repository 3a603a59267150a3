"""The batch writer's accounting against real servers: every point ends written, rejected or dropped
(with no server at all: tests/unit/test_influx_writer.py)."""

from __future__ import annotations

import logging
import time

import pytest

from agentload.influx.senders import InfluxTarget
from agentload.influx.writer import PointWriter, WriterSettings
from tests.servers import INFLUX_DB, InfluxDB1, VictoriaMetrics


def lines(measurement: str, n: int, start_ns: int | None = None) -> list[str]:
    t0 = start_ns or time.time_ns()
    return [f"{measurement},worker=w f={i}i {t0 + i}" for i in range(n)]


def test_a_partial_write_counts_the_refused_points_only(influx1: InfluxDB1) -> None:
    target = InfluxTarget(url=influx1.url, db=INFLUX_DB)
    w = PointWriter(target.sender(), WriterSettings(batch_size=10)).start()
    t0 = time.time_ns()
    w.add(f"typed,worker=w f=1i {t0}")
    assert w.flush(10)
    w.add(f"typed,worker=w f=2i {t0 + 1}")
    w.add(f'typed,worker=w f="text" {t0 + 2}')  # a field type conflict: InfluxDB refuses this one
    c = w.close(10)
    assert (c.written, c.dropped_rejected, c.dropped) == (2, 1, 1)
    assert influx1.query("SELECT count(f) FROM typed", INFLUX_DB)[0]["values"][0][1] == 2


def test_an_unknown_database_is_rejected_with_the_fix_named(
    influx1: InfluxDB1, caplog: pytest.LogCaptureFixture
) -> None:
    target = InfluxTarget(url=influx1.url, db="no_such_db", token="s3cret-token-value")
    w = PointWriter(target.sender()).start()
    for line in lines("m", 3):
        w.add(line)
    with caplog.at_level(logging.WARNING, logger="agentload.influx"):
        c = w.close(10)
    assert (c.written, c.dropped_rejected, c.retried) == (0, 3, 0)
    text = caplog.text
    assert "404" in text and "no_such_db" in text and "--influx-db" in text
    assert "s3cret-token-value" not in text
    assert "s3cret" not in repr(target)


def test_v2_writes_through_influxdb_client(victoria: VictoriaMetrics) -> None:
    target = InfluxTarget(url=victoria.url, org="o", bucket="b", token="t")
    w = PointWriter(target.sender(), WriterSettings(batch_size=100)).start()
    for line in lines("v2check", 250):
        w.add(line)
    c = w.close(10)
    assert (c.written, c.dropped) == (250, 0)
    values = [v for s in victoria.export('{__name__="v2check_f"}') for v in s["values"]]
    assert sorted(values) == list(range(250))
