"""Shared fixtures: real mock-server processes on loopback, started and stopped by the tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from agentload.mock import MockProcess
from tests.servers import INFLUX_DB, InfluxDB1, VictoriaMetrics


@pytest.fixture
def start_mock() -> Iterator[Callable[..., MockProcess]]:
    """``start_mock("--latency", "zero")`` starts a mock process; all are stopped after the test."""
    started: list[MockProcess] = []

    def _start(*args: str, env: dict[str, str] | None = None) -> MockProcess:
        m = MockProcess(list(args), env=env).start()
        started.append(m)
        return m

    yield _start
    for m in started:
        m.stop()


@pytest.fixture(scope="module")
def zero_mock() -> Iterator[MockProcess]:
    """One zero-latency mock shared by a module, with a 10-turn default script."""
    with MockProcess(["--latency", "zero", "--default-turns", "10", "--default-calls", "3"]) as m:
        yield m


@pytest.fixture(scope="module")
def influx1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB1]:
    server = InfluxDB1(tmp_path_factory.mktemp("influxd")).start()
    server.create_db(INFLUX_DB)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path_factory.mktemp("vm")).start()
    yield server
    server.stop()


BUSY = "import time\nend = time.monotonic() + 900\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture(scope="module")
def busy_neighbor() -> Iterator[subprocess.Popen[bytes]]:
    """A CPU-bound process beside the test, as on a shared CI machine (bounded: it ends by itself after
    15 minutes, and the fixture ends it at once)."""
    proc = subprocess.Popen([sys.executable, "-c", BUSY])
    yield proc
    proc.kill()
    proc.wait(10)
