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
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        *(["--headless"] if headless else []),
        *args,
    ]
