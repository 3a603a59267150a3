"""agentload's version: set in one place, pyproject.toml, and read from the installed package's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agentload")
except PackageNotFoundError:  # (a source tree that was never installed)
    __version__ = "0+unknown"
