"""The mock package imports in a gevent-patched process (a child process); its event loop's timers
(agentload/mock/timers.py) are tests/unit/test_mock_timers.py's."""

from __future__ import annotations

import subprocess
import sys


def test_the_mock_package_imports_in_a_gevent_patched_process() -> None:
    """Locust workers and the benchmarks patch with gevent (which removes EpollSelector) and still
    import the mock package to start the mock as a child process."""
    code = "from gevent import monkey; monkey.patch_all(); import agentload.mock; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
