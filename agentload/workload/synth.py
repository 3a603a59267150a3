"""Deterministic synthetic tool output: realistic-looking source files, test logs, listings.

Tool results are the bulk of what a coding agent uploads, so their *size* must be exact and their
*content* must look like the real thing (byte-level compressibility and JSON escaping of quotes and
newlines both change what goes on the wire). The same (kind, size, seed) always gives the same text,
so runs are reproducible and the mock and the client agree without exchanging anything.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable

_IDENTS = [
    "parse_date",
    "config",
    "request",
    "response",
    "handler",
    "session",
    "user_id",
    "payload",
    "cursor",
    "index",
    "items",
    "result",
    "value",
    "buffer",
    "offset",
    "timeout",
    "retries",
    "client",
    "server",
    "token",
    "cache",
    "entry",
    "record",
    "schema",
    "query",
    "limit",
    "page",
    "total",
    "status",
    "error",
    "message",
    "context",
    "path",
    "name",
    "mode",
    "field",
    "row",
    "column",
]
_TYPES = ["str", "int", "float", "bool", "dict[str, Any]", "list[str]", "bytes", "Path", "datetime"]
_MODULES = ["os", "re", "json", "logging", "datetime", "pathlib", "typing", "dataclasses", "itertools"]
_FILES = [
    "src/app/api/routes.py",
    "src/app/api/handlers.py",
    "src/app/core/dates.py",
    "src/app/core/search.py",
    "src/app/models/user.py",
    "src/app/models/order.py",
    "src/app/db/session.py",
    "tests/test_dates.py",
    "tests/test_search.py",
    "tests/test_api.py",
    "src/app/utils/pagination.py",
    "src/app/config.py",
]


def _python(rng: random.Random) -> list[str]:
    """One module header, class or function: the generator is called until the size is reached."""
    if rng.random() < 0.1:
        return [f"import {mod}" for mod in rng.sample(_MODULES, 3)] + [""]
    name = rng.choice(_IDENTS)
    if rng.random() < 0.25:
        lines = [
            f"class {name.title().replace('_', '')}:",
            f'    """{rng.choice(_IDENTS).capitalize()} for the {name} layer."""',
            "",
        ]
        lines += [f"    {rng.choice(_IDENTS)}: {rng.choice(_TYPES)}" for _ in range(rng.randint(1, 3))]
        return lines + [""]
    args = ", ".join(f"{a}: {rng.choice(_TYPES)}" for a in rng.sample(_IDENTS, rng.randint(1, 3)))
    lines = [
        f"def {name}_{rng.choice(_IDENTS)}({args}) -> {rng.choice(_TYPES)}:",
        f'    """Return the {rng.choice(_IDENTS)} for a {rng.choice(_IDENTS)}."""',
    ]
    for _ in range(rng.randint(2, 6)):
        a, b = rng.choice(_IDENTS), rng.choice(_IDENTS)
        lines.append(
            rng.choice(
                [
                    f'    {a} = {b}.get("{rng.choice(_IDENTS)}", {rng.randint(0, 99)})',
                    f'    if {a} is None:\n        raise ValueError(f"missing {a}: {{{b}!r}}")',
                    f"    for {a} in {b}:\n        {rng.choice(_IDENTS)}.append({a})",
                    f'    logger.debug("%s -> %s", {a}, {b})',
                ]
            )
        )
    return lines + [f"    return {rng.choice(_IDENTS)}", ""]


def _test_log(rng: random.Random) -> list[str]:
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.11.7, pytest-8.3.2, pluggy-1.5.0",
        f"collected {rng.randint(20, 300)} items",
        "",
    ]
    for f in rng.sample(_FILES, 4):
        marks = "".join(rng.choice("....F.s") for _ in range(rng.randint(8, 40)))
        lines.append(f"{f} {marks}  [{rng.randint(1, 100):3d}%]")
    lines += [
        "",
        "=================================== FAILURES ===================================",
        f"____________________ test_{rng.choice(_IDENTS)}_{rng.choice(_IDENTS)} ____________________",
    ]
    for _ in range(rng.randint(4, 10)):
        lines.append(
            f"    {rng.choice(_IDENTS)} = {rng.choice(_IDENTS)}({rng.choice(_IDENTS)}, {rng.randint(0, 999)})"
        )
    lines.append(f">   assert {rng.choice(_IDENTS)} == {rng.randint(0, 99)}")
    lines.append(f"E   AssertionError: assert {rng.randint(100, 999)} == {rng.randint(0, 99)}")
    lines.append(f"{rng.choice(_FILES)}:{rng.randint(10, 400)}: AssertionError")
    return lines


def _listing(rng: random.Random) -> list[str]:
    out = []
    for f in _FILES:
        out.append(f"{rng.randint(200, 40000):>8}  {f}")
    for i in range(rng.randint(3, 9)):
        out.append(f"{rng.randint(200, 9000):>8}  src/app/{rng.choice(_IDENTS)}/{rng.choice(_IDENTS)}_{i}.py")
    return out


def _search(rng: random.Random) -> list[str]:
    out = []
    for _ in range(rng.randint(6, 14)):
        out.append(
            f"{rng.choice(_FILES)}:{rng.randint(1, 500)}:    {rng.choice(_IDENTS)} = "
            f"{rng.choice(_IDENTS)}.{rng.choice(_IDENTS)}({rng.choice(_IDENTS)})"
        )
    return out


def _diff(rng: random.Random) -> list[str]:
    f = rng.choice(_FILES)
    out = [f"--- a/{f}", f"+++ b/{f}", f"@@ -{rng.randint(1, 300)},7 +{rng.randint(1, 300)},8 @@"]
    for _ in range(rng.randint(5, 12)):
        sign = rng.choice("  -+")
        out.append(f"{sign}    {rng.choice(_IDENTS)} = {rng.choice(_IDENTS)}({rng.choice(_IDENTS)})")
    return out


def _text(rng: random.Random) -> list[str]:
    words = _IDENTS + ["the", "a", "to", "and", "of", "is", "in", "for", "this", "that", "we", "it"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 16))) + "." for _ in range(6)]


GENERATORS: dict[str, Callable[[random.Random], list[str]]] = {
    "python": _python,
    "test_log": _test_log,
    "listing": _listing,
    "search": _search,
    "diff": _diff,
    "text": _text,
}
KINDS = tuple(GENERATORS)


def synth_text(kind: str, n_bytes: int, seed: str) -> str:
    """ASCII text of exactly ``n_bytes`` bytes that looks like ``kind`` (one of ``KINDS``)."""
    gen = GENERATORS[kind]
    rng = random.Random(f"{kind}:{n_bytes}:{seed}")
    parts: list[str] = []
    size = 0
    while size < n_bytes:
        for line in gen(rng):
            parts.append(line)
            size += len(line) + 1
            if size >= n_bytes:
                break
    return "\n".join(parts)[:n_bytes].ljust(n_bytes)


class TextCache:
    """Rendered outputs by (kind, size, seed), least recently used out past ``max_bytes``.

    Why: a run's agents replay the same tasks, so the same outputs recur, and rendering them in pure
    Python was the largest part of a zero-latency agent's CPU (bench/generator.py; README,
    Performance). One cache per process, held by the run context.
    """

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._d: OrderedDict[tuple[str, int, str], str] = OrderedDict()

    def text(self, kind: str, n_bytes: int, seed: str) -> str:
        key = (kind, n_bytes, seed)
        hit = self._d.get(key)
        if hit is not None:
            self._d.move_to_end(key)
            return hit
        out = synth_text(kind, n_bytes, seed)
        if len(out) <= self.max_bytes:
            self._d[key] = out
            self.bytes += len(out)
            while self.bytes > self.max_bytes:
                _, old = self._d.popitem(last=False)
                self.bytes -= len(old)
        return out
