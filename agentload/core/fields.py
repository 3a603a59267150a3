"""Declarative options: one frozen dataclass per feature is both its command-line table and its settings.

Each field of such a dataclass carries its default (the dataclass default) and, in its metadata, its
help, its flag, its bounds and whether the Locust web UI shows it. ``add_arguments`` turns the class
into arguments of a parser (Locust's, or a plain argparse one); ``read_options`` turns parsed options
back into a validated instance. Where a value comes from does not matter (command line, locust.conf,
``LOCUST_<NAME>`` environment variables, the web UI's form, a master handing its options to a worker):
every value passes the same checks, and a bad one is one line naming the flag and the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from .errors import AgentloadError

OPT = "agentload.option"
T = TypeVar("T")


@dataclass(frozen=True)
class Opt:
    """How one settings field appears as an option."""

    help: str
    flag: str | None = None  # default: --<name with dashes>
    minimum: float | None = None  # inclusive bounds of a number
    maximum: float | None = None
    above: float | None = None  # exclusive lower bound
    meaning: str = ""  # what a special value means, told with a range error ("0 = not shaped")
    web_ui: bool = False  # shown in Locust's web UI form (decided per option)
    metavar: str | None = None
    choices: tuple[str, ...] | None = None  # for str fields; an Enum field takes its members
    repeat: bool = False  # a tuple field: the option may be given several times, each adds one


def opt(default: Any, help: str, **kw: Any) -> Any:
    """A settings field with its option: ``tool_latency_scale: float = opt(1.0, "...", minimum=0)``."""
    return dataclasses.field(default=default, metadata={OPT: Opt(help, **kw)})


def option_fields(cls: type) -> list[tuple[dataclasses.Field[Any], Opt, Any]]:
    """(field, option, resolved type) of every option field of a settings class."""
    hints = typing.get_type_hints(cls)
    return [(f, f.metadata[OPT], hints[f.name]) for f in dataclasses.fields(cls) if OPT in f.metadata]


def flag_of(f: dataclasses.Field[Any], o: Opt) -> str:
    return o.flag or "--" + f.name.replace("_", "-")


def flag(cls: type, name: str) -> str:
    """The command-line flag of one field of ``cls`` (for messages that name it)."""
    for f, o, _ in option_fields(cls):
        if f.name == name:
            return flag_of(f, o)
    raise KeyError(name)


def _base(tp: Any) -> Any:
    """``float | None`` -> float; other types unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def add_arguments(
    parser: Any, cls: type, *, title: str | None = None, description: str | None = None, locust: bool = False
) -> None:
    """Add ``cls``'s options to ``parser`` (in an argument group when ``title`` is given).

    ``locust``: the parser is Locust's. Each option then also reads ``LOCUST_<NAME>`` from the
    environment, as Locust's own do, and shows in the web UI only where its field says so."""
    target = parser.add_argument_group(title, description) if title else parser
    for f, o, tp in option_fields(cls):
        base = _base(tp)
        kw: dict[str, Any] = {"default": f.default, "help": o.help.replace("%", "%%"), "dest": f.name}
        if o.repeat:
            kw.update(action="append", default=None)
            if o.metavar:
                kw["metavar"] = o.metavar
        elif base is bool:
            kw["action"] = "store_true"
        else:
            if base in (int, float):
                kw["type"] = base
            if isinstance(base, type) and issubclass(base, Enum):
                kw["choices"] = [m.value for m in base]
                kw["default"] = f.default.value if isinstance(f.default, Enum) else f.default
            elif o.choices:
                kw["choices"] = list(o.choices)
            if o.metavar:
                kw["metavar"] = o.metavar
        if base is Path and f.default is not None:
            kw["default"] = str(f.default)
        action = target.add_argument(flag_of(f, o), **kw)
        if locust:  # LOCUST_<FLAG>, as Locust names its own (LOCUST_ON_429 for --on-429)
            action.include_in_web_ui = o.web_ui
            action.env_var = "LOCUST_" + flag_of(f, o).lstrip("-").replace("-", "_").upper()


def _bounds(o: Opt) -> str:
    lo = o.minimum if o.minimum is not None else o.above
    strict = o.minimum is None and o.above is not None
    if lo is not None and o.maximum is not None:
        return f"between {lo:g} and {o.maximum:g}"
    if lo is not None:
        return f"more than {lo:g}" if strict else f"{lo:g} or more"
    return f"{o.maximum:g} or less"


def check_value(name: str, value: Any, base: Any, o: Opt, flag_text: str) -> Any:
    """``value`` converted to ``base`` and checked against ``o``; AgentloadError names the flag."""
    if value is None:
        return None
    if base is bool:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if base in (int, float):
        if isinstance(value, bool):
            raise AgentloadError(f"{flag_text}: {value!r} is not a number")
        try:
            number = base(value) if not isinstance(value, str) else base(value.strip())
        except (TypeError, ValueError):
            kind = "a whole number" if base is int else "a number"
            raise AgentloadError(f"{flag_text}: {value!r} is not {kind}") from None
        if base is float and not math.isfinite(number):
            raise AgentloadError(f"{flag_text}: must be a finite number (got {value!r})")
        low_ok = (o.minimum is None or number >= o.minimum) and (o.above is None or number > o.above)
        if not low_ok or (o.maximum is not None and number > o.maximum):
            meaning = f"; {o.meaning}" if o.meaning else ""
            raise AgentloadError(f"{flag_text}: must be {_bounds(o)}{meaning} (got {number:g})")
        return number
    if isinstance(base, type) and issubclass(base, Enum):
        try:
            return base(value)
        except ValueError:
            names = ", ".join(str(m.value) for m in base)
            raise AgentloadError(f"{flag_text}: {value!r} is not one of {names}") from None
    if base is Path:
        return Path(value)
    text = str(value)
    if o.choices and text not in o.choices:
        raise AgentloadError(f"{flag_text}: {text!r} is not one of {', '.join(o.choices)}")
    return text


def read_options(cls: type[T], namespace: argparse.Namespace | Any, **overrides: Any) -> T:
    """An instance of ``cls`` from parsed options (missing ones take the field's default), checked."""
    values: dict[str, Any] = {}
    for f, o, tp in option_fields(cls):
        raw = overrides[f.name] if f.name in overrides else getattr(namespace, f.name, f.default)
        if o.repeat:
            given = raw if isinstance(raw, list | tuple) else ()
            values[f.name] = tuple(check_value(f.name, v, str, o, flag_of(f, o)) for v in given)
            continue
        values[f.name] = check_value(f.name, raw, _base(tp), o, flag_of(f, o))
    return cls(**values)
