"""What one Locust process's agentload hangs off Locust's Environment, each thing under a typed key.

Most of the runtime's components get what they read as arguments when runtime.plugin installs them.
A few must be found later by code that holds only the Environment: Locust's users (runtime.users) reach
the run context and the sessions loop, the plugin's test start and stop reach what they drive, and the
probe (installed by its own init listener) reaches the InfluxDB output and its own state. Each of these
is put here under a ``Key[T]``, declared beside its type, and ``get`` returns a T (as aiohttp's
``web.AppKey`` does for an application's state)::

    SESSIONS = Key("sessions", Sessions)  # in runtime.loop
    registry_of(environment).put(SESSIONS, sessions)  # at init (runtime.plugin)
    sessions = registry_of(environment).get(SESSIONS)  # later: a Sessions, as mypy sees it too
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from locust.env import Environment

T = TypeVar("T")
ATTRIBUTE = "agentload"  # the Environment's attribute that holds its registry


class Key(Generic[T]):
    """The name of one thing in a registry, and its type (checked when it is put)."""

    __slots__ = ("name", "kind")

    def __init__(self, name: str, kind: type[T]) -> None:
        self.name = name
        self.kind = kind

    def __repr__(self) -> str:
        return f"<Key {self.name}: {self.kind.__qualname__}>"


class Registry:
    """Things under typed keys, each put once (at Locust's init) and got as often as needed."""

    def __init__(self) -> None:
        self._things: dict[Key[Any], object] = {}

    def put(self, key: Key[T], thing: T) -> T:
        if not isinstance(thing, key.kind):
            raise TypeError(
                f"{key.name}: a {key.kind.__qualname__} goes here, not {type(thing).__qualname__}"
            )
        if key in self._things:
            raise RuntimeError(f"{key.name} is in this process's registry already")
        self._things[key] = thing
        return thing

    def get(self, key: Key[T]) -> T:
        try:
            return cast(T, self._things[key])
        except KeyError:
            raise LookupError(f"{key.name} is not installed in this Locust process") from None

    def __contains__(self, key: Key[Any]) -> bool:
        return key in self._things


def registry_of(environment: Environment) -> Registry:
    """This Environment's registry (made on first use)."""
    registry = getattr(environment, ATTRIBUTE, None)
    if registry is None:
        registry = Registry()
        setattr(environment, ATTRIBUTE, registry)
    return registry
