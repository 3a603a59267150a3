"""Which part of a Locust run this process plays, computed once from its runner."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from locust.runners import MasterRunner, WorkerRunner


class Role(StrEnum):
    LOCAL = "local"  # a standalone run: runs agents and reports
    MASTER = "master"  # runs no agents: merges the workers' figures and reports
    WORKER = "worker"  # runs agents, writes its own records and points, reports to the master

    @property
    def runs_agents(self) -> bool:
        return self != Role.MASTER

    @property
    def reports(self) -> bool:
        """Prints the comparison and writes the summary (the master, or a standalone run)."""
        return self != Role.WORKER


def role_of(runner: Any) -> Role:
    if isinstance(runner, MasterRunner):
        return Role.MASTER
    if isinstance(runner, WorkerRunner):
        return Role.WORKER
    return Role.LOCAL


def process_id(runner: Any) -> str:
    """Unique per process: Locust's client id on a worker (host name + random), else the role."""
    role = role_of(runner)
    if role == Role.WORKER:
        return str(getattr(runner, "client_id", "worker")).replace("/", "_")
    return role.value
