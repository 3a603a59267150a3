"""Which user classes a run runs, and so which strategies: Locust's choice first, --strategy beside it.

Locust chooses user classes by name on the command line (``locust -f ... WsAgent``) or in the web UI's
class picker; agentload's ``--strategy`` chooses them by strategy. Either may be given alone; given
together they must agree, or the run is refused with one line (a class picker's WsAgent with
``--strategy chat`` would otherwise run one and report the other). A locustfile's own users (classes
without a strategy) always run beside agentload's. ``-u`` counts as Locust counts it: users are split
over all the classes by weight, so fewer users than classes leaves some classes without one, which is
said once and not refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import AgentloadError
from ..core.strategies import BY_NAME, NAMES, Strategy
from .loop import fleet_counts
from .options import parse_list


def strategy_of(user_class: Any) -> Strategy | None:
    s = getattr(user_class, "strategy", None)
    return s if isinstance(s, Strategy) else None


def explicit_strategies(value: str) -> list[str] | None:
    """The strategies ``--strategy`` names, or None when it leaves the choice to the classes ("all")."""
    names = parse_list(value or "all")
    return None if names == ["all"] else names


@dataclass(frozen=True)
class Selection:
    classes: tuple[Any, ...]  # the user classes the run runs: agentload's and the locustfile's own
    strategies: tuple[Strategy, ...]  # the strategies of agentload's among them, in registry order

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.strategies]


def select(classes: Sequence[Any], strategy_option: str, classes_chosen: bool) -> Selection:
    """The classes and strategies a run runs. ``classes`` are the user classes Locust would run (named
    on the command line or picked in the web UI when ``classes_chosen``; else the locustfile's)."""
    wanted = explicit_strategies(strategy_option)
    agents = [c for c in classes if strategy_of(c) is not None]
    own = [c for c in classes if strategy_of(c) is None]
    present = {s.name: c for c in agents if (s := strategy_of(c)) is not None}
    if wanted is not None:
        missing = [n for n in wanted if n not in present]
        if missing:
            chosen = ", ".join(c.__name__ for c in agents) or "none of agentload's"
            how = "chosen" if classes_chosen else "in the locustfile"
            raise AgentloadError(
                f"--strategy {','.join(wanted)}: {BY_NAME[missing[0]].user_class} is not among the user "
                f"classes {how} ({chosen}); choose it too, or leave --strategy out"
            )
        extra = [c.__name__ for n, c in present.items() if n not in wanted]
        if extra and classes_chosen:
            raise AgentloadError(
                f"--strategy {','.join(wanted)}: the user classes chosen also run {', '.join(extra)}; choose "
                "the classes or the strategies, or make them agree"
            )
        agents = [present[n] for n in NAMES if n in wanted]
    if not agents and not own:
        raise AgentloadError(
            "no user classes to run: give agentload's (e.g. WsAgent) or leave the choice out"
        )
    strategies = tuple(s for c in agents if (s := strategy_of(c)) is not None)
    order = {n: i for i, n in enumerate(NAMES)}
    return Selection(tuple(agents) + tuple(own), tuple(sorted(strategies, key=lambda s: order[s.name])))


def unstaffed(classes: Sequence[Any], users: int) -> list[str]:
    """The classes that get no user of ``users`` (Locust's dispatcher, by weight): none when enough."""
    counts = fleet_counts(list(classes), users)
    return [c.__name__ for c in classes if not counts.get(c.__name__)]


def check_users(users: int, classes: Sequence[Any]) -> str | None:
    """``-u``: refused when no user would run; a warning line when some class would get none."""
    if users < 0:
        raise AgentloadError(f"-u/--users: must be 1 or more (got {users})")
    if users == 0:
        raise AgentloadError("-u/--users 0: no agent would run; give -u 1 or more")
    idle = unstaffed(classes, users)
    if not idle:
        return None
    return (
        f"-u/--users {users}: Locust splits the users over {len(classes)} user classes by weight, so "
        f"{', '.join(idle)} get none this run (give -u {len(classes)} or more to run every class)"
    )
