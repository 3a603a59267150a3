"""The mock's HTTP surface: routes, middleware, and the server runner with exact byte counting."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..errors import AgentloadError
from ..jsoncodec import dumps_ascii
from .chat import chat_completions
from .config import MockConfig
from .engine import Engine
from .errors import ApiError, invalid_api_key, missing_api_key
from .faults import STATUS_FAULTS, Fault, FaultInjector, first_of, pace_with_faults
from .ledger import STATS_PREFIX, ByteLedger, CountingProtocol, connection_of
from .pacing import ARRIVED, arrived_at, is_token, pace, sequencer
from .ratelimit import Limits, RateLimiter, key_of
from .requests import parse_create, parse_json_body

log = logging.getLogger("agentload.mock")

ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
LEDGER: web.AppKey[ByteLedger] = web.AppKey("ledger", ByteLedger)
CONFIG: web.AppKey[MockConfig] = web.AppKey("config", MockConfig)
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter", RateLimiter)
FAULTS: web.AppKey[FaultInjector] = web.AppKey("faults", FaultInjector)
LIMITED_POSTS = ("/v1/responses", "/v1/chat/completions")


def rate_key(request: web.Request) -> str:
    return key_of(request.headers.get("Authorization"))


def reserve_tokens(request: web.Request, tokens: int) -> dict[str, str]:
    """Reserve a request's tokens (429 ApiError when over TPM); returns the headers to send."""
    limiter = request.app[LIMITER]
    key = rate_key(request)
    limiter.admit_tokens(key, tokens)
    return limiter.headers(key)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=dumps_ascii(body),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _authorized(request: web.Request, api_key: str | None) -> None:
    if api_key is None:
        return
    auth = request.headers.get("Authorization", "")
    if not auth:
        raise missing_api_key()
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), api_key.encode()):
        raise invalid_api_key()


@web.middleware
async def openai_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Reads the whole request, marks the byte ledger, checks the key, and shapes every error."""
    await request.read()
    request[ARRIVED] = asyncio.get_running_loop().time()
    conn = connection_of(request)
    if conn is not None:
        kind = "ws-handshake" if request.headers.get("Upgrade", "").lower() == "websocket" else "http"
        request["exchange"] = conn.mark(request.app[LEDGER], kind, request.path)
    try:
        if request.path.startswith("/v1/"):
            _authorized(request, request.app[CONFIG].api_key)
            if request.method == "POST" and request.path in LIMITED_POSTS:
                request.app[LIMITER].admit_request(rate_key(request))
        resp = await handler(request)
        if request.path.startswith("/v1/") and not resp.prepared:
            for k, v in request.app[LIMITER].headers(rate_key(request)).items():
                resp.headers.setdefault(k, v)
        return resp
    except ApiError as e:
        headers = e.headers
        if headers is None and request.path.startswith("/v1/"):
            headers = request.app[LIMITER].headers(rate_key(request))
        return json_response(e.body(), e.status, headers)
    except ConnectionResetError:
        # The client went away mid-response (an agent stopped, a run ended): nothing is owed and
        # nothing failed here. aiohttp would log a traceback per connection, and a run that stops
        # thousands of agents mid-stream would bury the mock's real errors under them.
        return web.Response(status=499)
    except web.HTTPException as e:
        if e.status >= 400:
            return json_response(
                {
                    "error": {
                        "message": e.reason,
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
                e.status,
            )
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return json_response(
            {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
            500,
        )


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + dumps_ascii(e) + b"\n\n" for e in events)


def _sse_frame(etype: str, data: bytes) -> bytes:
    return b"event: " + etype.encode() + b"\ndata: " + data + b"\n\n"


async def http_faults(request: web.Request, endpoint: str) -> list[Fault]:
    """The faults drawn for this HTTP response. A 5xx is raised here (before any work, as a failing
    upstream answers), and a slow first byte is waited out here (before the response head)."""
    injector = request.app[FAULTS]
    if not injector.config.enabled:
        return []
    faults = injector.draw(endpoint)
    status = first_of(faults, STATUS_FAULTS)
    if status is not None:
        raise status.error()
    if first_of(faults, ("slow_first_byte",)) is not None:
        await asyncio.sleep(injector.config.slow_s)
    return [f for f in faults if f.name != "slow_first_byte"]


async def stream_with_faults(
    request: web.Request,
    resp: web.StreamResponse,
    events: Any,
    faults: list[Fault],
    frame: Any,
    start: float,
    stamp: Any = None,
    is_token: Callable[[dict[str, Any]], bool] = is_token,
) -> tuple[float | None, bool]:
    """Streams ``events`` with ``faults`` worked in. Returns (first token time, whether the stream
    was cut); a cut has ended the response already (dropped, or the body ended early)."""
    config = request.app[FAULTS].config
    first, cut = await pace_with_faults(events, faults, config, resp.write, frame, start, stamp, is_token)
    if cut == "drop":
        request.transport.abort()  # type: ignore[union-attr]
        raise ConnectionResetError("fault injected: drop")
    if cut:  # truncated: the body ends cleanly without the terminal event
        await resp.write_eof()
    return first, cut is not None


async def create_response(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    body = parse_json_body(await request.read())
    faults = await http_faults(request, "responses")
    req = parse_create(body, websocket=False)
    prev = engine.resolve_previous(req)
    gen = engine.start(req, prev)
    limit_headers = reserve_tokens(request, gen.reserved_tokens()) if req.generate else {}
    if "exchange" in request:
        request["exchange"].response_id = gen.id
    start = arrived_at(request)
    headers = {"x-request-id": f"req_{secrets.token_hex(16)}", "openai-processing-ms": "0", **limit_headers}
    if not req.stream:
        delay = gen.ttft_s + gen.config.latency.token_interval_s() * gen.usage["output_tokens"]
        if delay > 0:
            await asyncio.sleep(delay)
        engine.finish(gen)
        return json_response(gen.final_response(), headers=headers)
    resp = web.StreamResponse(
        headers={**headers, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
    )
    await resp.prepare(request)

    async def send(batch: list[dict[str, Any]]) -> None:
        await resp.write(_sse(batch))

    if faults:
        first, cut = await stream_with_faults(
            request, resp, gen.events(), faults, _sse_frame, start, sequencer()
        )
        if cut:
            return resp
    else:
        first = await pace(gen.events(), send, start, sequencer(), is_token)
    if first is not None and "exchange" in request:
        request["exchange"].first_token(first, start)
    engine.finish(gen)
    await resp.write_eof()
    return resp


async def get_response(request: web.Request) -> web.Response:
    rid = request.match_info["response_id"]
    st = request.app[ENGINE].store.get(rid)
    if st is None or st.response is None:
        raise ApiError(404, f"Response with id '{rid}' not found.", "invalid_request_error", None, None)
    return json_response(st.response)


async def responses_get(request: web.Request) -> web.StreamResponse:
    """GET /v1/responses: the WebSocket mode's upgrade (plain GET is not an endpoint)."""
    from .ws import websocket_session

    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(
            405,
            "GET /v1/responses is only available as a WebSocket upgrade (WebSocket mode).",
            "invalid_request_error",
            None,
            None,
        )
    return await websocket_session(request)


async def list_models(request: web.Request) -> web.Response:
    name = request.app[CONFIG].model_name_default
    return json_response(
        {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "agentload-mock"}],
        }
    )


async def stats(request: web.Request) -> web.Response:
    with_ex = request.query.get("exchanges", "1") not in ("0", "false", "no")
    return json_response(
        {
            **request.app[LEDGER].snapshot(with_exchanges=with_ex),
            "rate_limits": request.app[LIMITER].snapshot(),
            "faults": request.app[FAULTS].snapshot(),
            "gc": _gc_snapshot(),
        }
    )


def _gc_snapshot() -> dict[str, Any]:
    """The process's garbage collector (see server.collect_garbage): whether it runs on Python's own
    schedule, the full collections so far and what they freed."""
    full = gc.get_stats()[2]
    return {
        "automatic": gc.isenabled(),
        "full_collections": full["collections"],
        "collected": full["collected"],
    }


async def reset(request: web.Request) -> web.Response:
    request.app[LEDGER].reset()
    return json_response({"reset": True})


async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


def make_app(config: MockConfig, ledger: ByteLedger | None = None) -> web.Application:
    app = web.Application(middlewares=[openai_middleware], client_max_size=256 * 1024 * 1024)
    app[CONFIG] = config
    app[ENGINE] = Engine(config)
    app[LEDGER] = ledger or ByteLedger(max_exchanges=config.ledger_max_exchanges)
    app[FAULTS] = FaultInjector(config.faults)
    app[LIMITER] = RateLimiter(
        Limits(config.rpm, config.tpm, config.max_connections, config.rate_burst_s), config.model_name_default
    )
    app.router.add_post("/v1/responses", create_response)
    app.router.add_get("/v1/responses", responses_get)
    app.router.add_get("/v1/responses/{response_id}", get_response)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get(f"{STATS_PREFIX}/stats", stats)
    app.router.add_post(f"{STATS_PREFIX}/reset", reset)
    app.router.add_get(f"{STATS_PREFIX}/health", health)
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
