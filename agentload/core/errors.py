"""User-facing errors: one line that names the field, file or flag and the fix; never a traceback."""

import sys
from typing import NoReturn


def stop_at_start(message: str) -> NoReturn:
    """A user's mistake found at start: one line on stderr, exit 2, before any load (no traceback)."""
    print(f"agentload: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


class AgentloadError(Exception):
    """A mistake in the user's input or environment, reported as one line and a non-zero exit."""

    exit_code = 2


class TaskFileError(AgentloadError):
    """A task file that does not match the schema. ``str()`` gives file, field path, problem and fix."""

    def __init__(self, file: str, path: str, problem: str, fix: str) -> None:
        self.file, self.path, self.problem, self.fix = file, path, problem, fix
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {problem} (fix: {fix})")
