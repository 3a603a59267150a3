"""How agentload starts Locust as a child process (the demo, sweeps, the tests): one place for the
command, so every caller runs the same locustfile with the same interpreter. Imports no Locust."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "locustfile.py"
PROBE_LOCUSTFILE = ROOT / "agentload" / "probe_locustfile.py"


def locust_argv(*args: str, locustfile: Path = LOCUSTFILE, headless: bool = True) -> list[str]:
    """``python -m locust -f LOCUSTFILE --headless ARGS`` with this interpreter (without --headless:
    the web UI)."""
    # A distributed run gets a master port of its own: two runs on one machine on Locust's default
    # 5557 would share workers (a worker of one joins the other's master), mixing their results.
    ports = master_port_args() if "--processes" in args else []
    head = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    return [*head, *(["--headless"] if headless else []), *ports, *args]


def free_port() -> int:
    """A loopback TCP port free right now (for a Locust master that must not collide with another run)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def master_port_args() -> list[str]:
    """Master and forked workers (--processes) on a port of their own instead of Locust's 5557."""
    port = str(free_port())
    return ["--master-bind-port", port, "--master-port", port]
