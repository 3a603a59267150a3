"""``agentload fleet``: a Locust master and N worker processes on this machine, in one command.

Unlike Locust's ``--processes`` (workers forked from the master), each worker here is a process of its
own, as on a real fleet: one can be stopped or killed and the master carries on and reports it. The
master and workers get a master port of their own, so two fleets on one machine never share workers.
Every option after ``--`` goes to the master (which hands agentload's options to its workers).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time

from .errors import AgentloadError
from .launch import LOCUSTFILE, ROOT, free_port


def fleet_argv(workers: int, locust_args: list[str]) -> tuple[list[str], list[list[str]]]:
    """The master's and each worker's command line."""
    port = str(free_port())
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    master = [*base, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port]
    master += ["--expect-workers", str(workers), *locust_args]
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
    return master, [list(worker) for _ in range(workers)]


def run_fleet(workers: int, locust_args: list[str]) -> int:
    """Runs until the master exits (headless: its --run-time), then stops the workers."""
    if workers < 1:
        raise AgentloadError("--workers: 1 or more")
    master_cmd, worker_cmds = fleet_argv(workers, locust_args)
    master = subprocess.Popen(master_cmd, cwd=ROOT)
    procs = [subprocess.Popen(cmd, cwd=ROOT) for cmd in worker_cmds]
    print(
        f"agentload fleet: master pid {master.pid}, workers {', '.join(str(p.pid) for p in procs)}",
        file=sys.stderr,
        flush=True,
    )
    try:
        code = master.wait()
    except KeyboardInterrupt:
        master.send_signal(signal.SIGINT)
        code = master.wait()
    deadline = time.monotonic() + 30
    for p in procs:  # workers quit when their master does; any still up after 30 s are stopped
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(max(0.1, deadline - time.monotonic()))
        if p.poll() is None:
            p.terminate()
            p.wait(10)
    return code
