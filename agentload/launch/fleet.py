"""``agentload fleet``: a Locust master and N worker processes on this machine, in one command.

Unlike Locust's ``--processes`` (workers forked from the master), each worker here is a process of its
own, as on a real fleet: one can be stopped or killed and the master carries on (it rebalances the
dead worker's agents onto the others) and reports it. The master and workers get a master port of
their own, so two fleets on one machine never share workers. Every option after ``--`` goes to the
master (which hands agentload's options to its workers).

Each child runs in a process group of its own. A signal to the fleet (Ctrl-C, SIGTERM) goes to the
master, which stops the run as any run stops (the workers' final reports, its table and summary); a
second signal makes the master exit at once. Workers that outlive their master are stopped, and none
is left behind. A child that dies is named in one line; the master waits for its workers no longer
than ``--expect-workers-max-wait`` (60 s unless given).
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

from ..core.errors import AgentloadError
from . import procs
from .locust import free_port, locust_command

WORKERS_MAX_WAIT_S = 60
WORKERS_OUTLIVE_S = 30.0  # workers quit when their master does; those still up after this are stopped


def fleet_argv(workers: int, locust_args: list[str]) -> tuple[list[str], list[list[str]]]:
    """The master's and each worker's command line."""
    port = str(free_port())
    base = locust_command()
    master = [*base, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port]
    master += ["--expect-workers", str(workers)]
    if not any(a.startswith("--expect-workers-max-wait") for a in locust_args):
        master += ["--expect-workers-max-wait", str(WORKERS_MAX_WAIT_S)]
    master += locust_args
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
    return master, [list(worker) for _ in range(workers)]


def _say(line: str) -> None:
    print(f"agentload fleet: {line}", file=sys.stderr, flush=True)


def run_fleet(workers: int, locust_args: list[str]) -> int:
    """Runs until the master exits (headless: its --run-time, or a signal), then stops the workers."""
    if workers < 1:
        raise AgentloadError("--workers: 1 or more")
    master_cmd, worker_cmds = fleet_argv(workers, locust_args)
    master = procs.start(master_cmd)
    children = [procs.start(cmd) for cmd in worker_cmds]
    _say(f"master pid {master.pid}, workers {', '.join(str(p.pid) for p in children)}")
    signals: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)
        procs.signal_group(master, signal.SIGTERM)  # the first: stop the run; the second: now
        if len(signals) > 1:
            for p in children:
                procs.signal_group(p, signal.SIGTERM)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    dead: set[int] = set()
    try:
        while master.poll() is None:
            time.sleep(0.2)
            for i, p in enumerate(children):
                if p.poll() is not None and p.pid not in dead:
                    dead.add(p.pid)
                    left = sum(1 for c in children if c.poll() is None)
                    _say(f"worker {i + 1} (pid {p.pid}) exited with code {p.returncode}; {left} still run")
        procs.wait_all(children, WORKERS_OUTLIVE_S)
    finally:
        for p in children:
            procs.stop_group(p, grace_s=5.0)
        procs.stop_group(master, grace_s=5.0)
        for s, handler in old.items():
            signal.signal(s, handler)
    return master.returncode
