"""The files and folders a command will write, checked before it starts: one line naming the flag."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import AgentloadError


def _existing_ancestor(p: Path) -> Path:
    parent = p
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def check_output_file(flag: str, path: str | Path) -> None:
    """A file the run will write names a file in a folder that exists or can be made, and writable."""
    p = Path(path)
    if p.is_dir():
        raise AgentloadError(f"{flag} {path}: is a folder; give a file path (e.g. {p / 'out.json'})")
    parent = _existing_ancestor(p.parent)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise AgentloadError(f"{flag} {path}: {parent} is not a writable folder; write somewhere else")


def check_output_folder(flag: str, path: str | Path) -> None:
    """A folder the command will write into is one, or can be made, and is writable (nothing made yet)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise AgentloadError(f"{flag} {path}: is a file; give a folder")
    parent = _existing_ancestor(p)
    if not parent.is_dir():
        raise AgentloadError(f"{flag} {path}: {parent} is a file, not a folder; give another folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AgentloadError(f"{flag} {path}: {parent} is not writable; give another folder")


def output_folder(flag: str, path: str | Path) -> Path:
    """The folder, made if it is not there yet (checked first)."""
    check_output_folder(flag, path)
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AgentloadError(f"{flag} {path}: cannot make the folder ({e.strerror}); give another") from None
    return out
