"""Which loop a run's agents work in, and the arrivals of open-loop sessions.

- closed: each agent starts its next task as soon as the last one ends (the default);
- task-rate: each agent starts tasks at ``--task-rate`` per second (Locust's constant_throughput);
- sessions: agent sessions arrive at ``--session-rate`` per second for each strategy, across the
  fleet, whatever the server's speed: each session opens its own connection, runs one task and
  leaves. The gaps between arrivals are gamma-distributed with shape ``--burstiness`` (1 = Poisson;
  below 1 burstier, above 1 more even), as vLLM's benchmark and AIPerf define it.

In the sessions loop the Locust users are the fleet's free agents: ``-u`` caps the sessions that run at
once. Each process runs one arrival clock per strategy, at the fleet's rate times its share of the
strategy's agents, so the processes' arrivals add up to the asked rate (their superposition is exactly
Poisson when the burstiness is 1; each process's own arrivals keep the asked burstiness). An arrival
that finds no free agent is dropped and counted, as k6 counts dropped iterations: the arrivals that ran
keep their schedule, and the end of the run says how many did not and to raise ``-u``.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import AsyncResult

from .registry import Key

if TYPE_CHECKING:
    from locust.env import Environment  # (only for its type: importing Locust patches the process)

FLEET_KEY = "agentload_fleet_users"  # on the parsed options: the fleet's agents per user class


class LoopKind(StrEnum):
    CLOSED = "closed"
    TASK_RATE = "task-rate"
    SESSIONS = "sessions"


@dataclass(frozen=True)
class Loop:
    kind: LoopKind
    task_rate: float = 0.0  # per agent, task-rate
    session_rate: float = 0.0  # per strategy across the fleet, sessions
    burstiness: float = 1.0

    @classmethod
    def of(cls, task_rate: float, session_rate: float, burstiness: float) -> Loop:
        if session_rate > 0:
            return cls(LoopKind.SESSIONS, session_rate=session_rate, burstiness=burstiness)
        if task_rate > 0:
            return cls(LoopKind.TASK_RATE, task_rate=task_rate)
        return cls(LoopKind.CLOSED)

    def describe(self) -> str:
        match self.kind:
            case LoopKind.SESSIONS:
                shape = "Poisson" if self.burstiness == 1 else f"gamma, burstiness {self.burstiness:g}"
                return f"open loop: {self.session_rate:g} sessions/s per strategy ({shape}), one task each"
            case LoopKind.TASK_RATE:
                return f"open loop per agent: {self.task_rate:g} tasks/s each"
        return "closed loop: each agent starts its next task when the last ends"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "task_rate": self.task_rate,
            "session_rate": self.session_rate,
            "burstiness": self.burstiness,
            "describe": self.describe(),
        }


def gap_s(rng: random.Random, rate: float, burstiness: float) -> float:
    """One gap between arrivals: gamma with shape ``burstiness`` and mean 1/rate."""
    return rng.gammavariate(burstiness, 1.0 / (rate * burstiness))


def fleet_counts(user_classes: list[Any], total: int) -> dict[str, int]:
    """How Locust's dispatcher splits ``total`` agents over the classes (by weight, classes sorted by
    name, its own smooth round robin), for each process's share of the arrivals."""
    classes = sorted(user_classes, key=lambda u: u.__name__)
    try:
        from locust.dispatch import _kl_generator  # the dispatcher's own order

        names = _kl_generator((u.__name__, u.weight) for u in classes)
        return {str(k): v for k, v in Counter(itertools.islice(names, total)).items() if k}
    except ImportError:  # (a Locust without it: proportional shares)
        weight = sum(u.weight for u in classes) or 1
        return {u.__name__: round(total * u.weight / weight) for u in classes}


class Clock:
    """One strategy's arrivals in this process, handed to its free agents."""

    def __init__(self, sessions: Sessions, user_class: str, strategy: str) -> None:
        self.sessions = sessions
        self.user_class = user_class
        self.strategy = strategy
        self.free: list[AsyncResult] = []
        self.agents = 0
        self.rng = random.Random()
        self.greenlet = gevent.spawn(self._run)

    def _rate(self) -> float:
        fleet = self.sessions.fleet.get(self.user_class) or self.agents
        return self.sessions.loop.session_rate * self.agents / fleet if fleet else 0.0

    def _run(self) -> None:
        while True:
            rate = self._rate()
            if rate <= 0:
                gevent.sleep(0.1)
                continue
            gevent.sleep(gap_s(self.rng, rate, self.sessions.loop.burstiness))
            if self.sessions.stopping:  # the run is stopping its agents: no more arrivals
                return
            if self.free:
                self.free.pop(0).set(True)
            else:
                self.sessions.dropped(self.strategy)

    def wait(self) -> None:
        """Block this agent until a session arrives for it."""
        ticket = AsyncResult()
        self.free.append(ticket)
        try:
            ticket.get()
        finally:
            if ticket in self.free:  # (stopped while waiting)
                self.free.remove(ticket)

    def stop(self) -> None:
        self.greenlet.kill(block=False)


class Sessions:
    """The sessions loop of one process: a clock per strategy, started by its first agent. It reads
    the loop from the current settings (``loop``), the runner's state and the fleet from the Locust
    ``environment``, and hands each arrival that found no free agent to ``on_dropped`` (the summary
    counts them)."""

    def __init__(
        self, loop: Callable[[], Loop], environment: Environment, on_dropped: Callable[[str], None]
    ) -> None:
        self._loop = loop
        self.environment = environment
        self.on_dropped = on_dropped
        self.clocks: dict[str, Clock] = {}

    @property
    def loop(self) -> Loop:
        return self._loop()

    @property
    def stopping(self) -> bool:
        runner = self.environment.runner
        return getattr(runner, "state", "") in ("stopping", "stopped", "cleanup")

    @property
    def fleet(self) -> dict[str, int]:
        return dict(getattr(self.environment.parsed_options, FLEET_KEY, None) or {})

    def join(self, user_class: str, strategy: str) -> Clock:
        clock = self.clocks.get(user_class)
        if clock is None:
            clock = self.clocks[user_class] = Clock(self, user_class, strategy)
        clock.agents += 1
        return clock

    def leave(self, user_class: str) -> None:
        clock = self.clocks.get(user_class)
        if clock is not None:
            clock.agents -= 1

    def dropped(self, strategy: str) -> None:
        self.on_dropped(strategy)

    def stop(self) -> None:
        for c in self.clocks.values():
            c.stop()
        self.clocks.clear()


SESSIONS = Key("sessions loop", Sessions)  # (the users join it: runtime.users)


def set_fleet(environment: Environment) -> None:
    """On the master or a standalone run, at test start: the fleet's agents per class, on the options
    the workers receive with their spawn message."""
    total = int(getattr(environment.runner, "target_user_count", 0) or 0)
    setattr(environment.parsed_options, FLEET_KEY, fleet_counts(list(environment.user_classes), total))


def install(
    loop: Callable[[], Loop], environment: Environment, on_dropped: Callable[[str], None]
) -> Sessions:
    """The sessions loop of this process; its clocks stop with the test."""
    sessions = Sessions(loop, environment, on_dropped)
    environment.events.test_stop.add_listener(lambda **_kw: sessions.stop())
    return sessions
