"""agentload: a distributed load generator for AI coding agents, on Locust."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agentload")  # the one place it is set: pyproject.toml
except PackageNotFoundError:  # (a source tree that was never installed)
    __version__ = "0+unknown"
