"""Reading an agent's own session log: JSON lines, each problem named by its file and line."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..core.errors import AgentloadError


class LogError(AgentloadError):
    """A session log that cannot be read: one line naming the file, the line and the fix."""

    def __init__(self, path: Path, line: int, problem: str, fix: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem} (fix: {fix})")


def open_text(path: Path) -> IO[str]:
    """A log as text, gunzipped on the way when its name ends in .gz (how trace corpora ship)."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line, read as it goes (a corpus may be large); a line
    that is not a JSON object is a LogError."""
    n = 0
    try:
        with open_text(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise LogError(
                        path,
                        n,
                        f"not JSON ({e.msg})",
                        "give the log as its agent wrote it, one JSON object a line",
                    ) from None
                if not isinstance(obj, dict):
                    raise LogError(
                        path,
                        n,
                        "not a JSON object",
                        "give the log as its agent wrote it, one JSON object a line",
                    )
                yield n, obj
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as e:
        raise LogError(
            path,
            n + 1 if n else 0,
            f"cannot read it ({e.__class__.__name__})",
            "give a UTF-8 JSONL file (or one gzipped)",
        ) from None


def timestamp(value: Any) -> float | None:
    """An ISO 8601 time (``2026-12-02T17:28:48.283Z``) as Unix time; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
