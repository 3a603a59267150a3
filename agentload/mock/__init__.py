"""The embedded OpenAI-compatible mock server (a product feature: rehearse a test against it)."""

from .app import make_app, start_mock
from .config import DefaultScript, LatencyModel, MockConfig
from .server import MockProcess, serve

__all__ = ["DefaultScript", "LatencyModel", "MockConfig", "MockProcess", "make_app", "serve", "start_mock"]
