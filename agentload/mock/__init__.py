"""The embedded OpenAI-compatible mock server (a product feature: rehearse a test against it).

``MockProcess`` runs it as a child process (this package's import stays free of aiohttp); the app
itself is mock.app, served by mock.server.
"""

from .config import DefaultScript, LatencyModel, MockConfig
from .process import MockProcess

__all__ = ["DefaultScript", "LatencyModel", "MockConfig", "MockProcess"]
