"""The mock's app: its state, its routes, and the server with exact byte counting on every connection.

This module only assembles; the handlers live by endpoint (mock.responses, mock.ws, mock.chat,
mock.conversations, mock.control) and share their state through mock.state.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from ..core.errors import AgentloadError
from ..core.protocol import CONTROL_PREFIX
from . import control, conversations
from .chat import chat_completions
from .config import MockConfig
from .engine import Engine
from .faults import FaultInjector
from .ledger import ByteLedger, CountingProtocol
from .middleware import openai_middleware
from .ratelimit import Limits, RateLimiter
from .responses import create_response, get_response, responses_get
from .state import CONFIG, ENGINE, FAULTS, LEDGER, LIMITER, WS_STATS


def make_app(config: MockConfig, ledger: ByteLedger | None = None) -> web.Application:
    app = web.Application(middlewares=[openai_middleware], client_max_size=256 * 1024 * 1024)
    app[CONFIG] = config
    app[ENGINE] = Engine(config)
    app[LEDGER] = ledger or ByteLedger(max_exchanges=config.ledger_max_exchanges)
    app[FAULTS] = FaultInjector(config.faults)
    app[WS_STATS] = Counter()
    app[LIMITER] = RateLimiter(
        Limits(config.rpm, config.tpm, config.max_connections, config.rate_burst_s), config.model_name_default
    )
    app.router.add_post("/v1/responses", create_response)
    app.router.add_get("/v1/responses", responses_get)
    app.router.add_get("/v1/responses/{response_id}", get_response)
    app.router.add_post("/v1/chat/completions", chat_completions)
    conversations.add_routes(app)
    app.router.add_get("/v1/models", control.list_models)
    app.router.add_get(f"{CONTROL_PREFIX}/stats", control.stats)
    app.router.add_post(f"{CONTROL_PREFIX}/reset", control.reset)
    app.router.add_get(f"{CONTROL_PREFIX}/health", control.health)
    app.router.add_get(f"{CONTROL_PREFIX}/tasks", control.tasks)
    app.router.add_get(f"{CONTROL_PREFIX}/continuity", control.continuity)
    return app


@dataclass
class RunningMock:
    runner: web.AppRunner
    server: asyncio.AbstractServer
    port: int
    ledger: ByteLedger = field(repr=False)

    async def close(self) -> None:
        self.server.close()
        await self.runner.shutdown()
        await self.runner.cleanup()


def _tls_context(config: MockConfig) -> ssl.SSLContext | None:
    """https/wss: the byte ledger then counts the HTTP and WebSocket bytes inside TLS, as the agents do."""
    if config.tls_cert is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    except (ssl.SSLError, OSError) as e:
        raise AgentloadError(
            f"--tls-cert/--tls-key: cannot load them ({e.__class__.__name__}: {e})"
        ) from None
    return ctx


async def start_mock(config: MockConfig) -> RunningMock:
    """Serve ``config`` on its host/port (port 0 picks a free one), counting every byte."""
    app = make_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    handler_factory = runner.server
    assert handler_factory is not None
    ledger = app[LEDGER]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: CountingProtocol(handler_factory(), ledger),
        config.host,
        config.port,
        reuse_address=True,
        backlog=4096,
        ssl=_tls_context(config),
    )
    port = server.sockets[0].getsockname()[1]
    return RunningMock(runner, server, port, ledger)
