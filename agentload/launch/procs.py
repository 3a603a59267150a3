"""Child processes that can be stopped whole: each in a process group of its own, so a signal reaches
it and everything it forked (a Locust master's --processes workers), and nothing is left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from typing import Any


def start(cmd: list[str], **kw: Any) -> subprocess.Popen[Any]:
    """Start ``cmd`` as the leader of a new process group (the terminal's Ctrl-C does not reach it:
    its parent forwards what it should get)."""
    return subprocess.Popen(cmd, start_new_session=True, **kw)


def signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def wait(proc: subprocess.Popen[Any], timeout_s: float) -> int | None:
    try:
        return proc.wait(max(0.0, timeout_s))
    except subprocess.TimeoutExpired:
        return None


def stop_group(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> int:
    """SIGTERM to the group (agentload's stop: agents record, files flush), then after ``grace_s`` a
    second SIGTERM (its quick exit), and SIGKILL for whatever is still there. Returns the exit code."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        if wait(proc, grace_s) is None:
            signal_group(proc, signal.SIGTERM)
            if wait(proc, 5.0) is None:
                signal_group(proc, signal.SIGKILL)
                proc.wait(10)
    signal_group(proc, signal.SIGKILL)  # anything the leader forked and left behind
    return proc.returncode


def wait_all(procs: list[subprocess.Popen[Any]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for p in procs:
        wait(p, deadline - time.monotonic())
