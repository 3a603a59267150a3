"""How agentload starts Locust as a child process (the demo, sweeps, the fleet, the probe, the tests):
one place for the command, so every caller runs the packaged locustfile with the same interpreter.
It imports no Locust, so commands that only start processes stay quick to load."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
LOCUSTFILE = PACKAGE / "runtime" / "locustfile.py"
PROBE_LOCUSTFILE = PACKAGE / "probe" / "locustfile.py"


def locust_command(locustfile: Path = LOCUSTFILE) -> list[str]:
    """``python -m locust -f LOCUSTFILE`` with this interpreter."""
    return [sys.executable, "-m", "locust", "-f", str(locustfile)]


def locust_argv(*args: str, locustfile: Path = LOCUSTFILE, headless: bool = True) -> list[str]:
    """``python -m locust -f LOCUSTFILE --headless ARGS`` (without --headless: the web UI)."""
    # A distributed run gets a master port of its own: two runs on one machine on Locust's default
    # 5557 would share workers (a worker of one joins the other's master), mixing their results.
    ports = master_port_args() if "--processes" in args else []
    return [*locust_command(locustfile), *(["--headless"] if headless else []), *ports, *args]


def free_port() -> int:
    """A loopback TCP port free right now (for a Locust master that must not collide with another run)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def master_port_args() -> list[str]:
    """Master and forked workers (--processes) on a port of their own instead of Locust's 5557."""
    port = str(free_port())
    return ["--master-bind-port", port, "--master-port", port]


WORKER_REPORT_INTERVAL_S = 3.0  # Locust's runners.WORKER_REPORT_INTERVAL (a unit test keeps them equal)
REPORT_LAG_S = WORKER_REPORT_INTERVAL_S + 1.0  # a worker's figures for a second are at the master by then
# how long the master waits for a worker's final report beyond --stop-timeout and the InfluxDB flush (a
# worker's message on its way); a worker Locust knows is missing is not waited for
FINAL_REPORT_MARGIN_S = 15.0
