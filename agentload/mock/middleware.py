"""What every request meets first: the whole body read, its ledger entry marked, the API key checked,
the request counted against the caller's rate limit; and every error shaped as OpenAI shapes them."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from ..core.deflate import BodyEncoding, encode_body
from ..core.jsoncodec import dumps_ascii
from .errors import ApiError, invalid_api_key, missing_api_key
from .ledger import connection_of
from .state import ARRIVED, CONFIG, EXCHANGE, LEDGER, LIMITER, rate_key

log = logging.getLogger("agentload.mock")
LIMITED_POSTS = ("/v1/responses", "/v1/chat/completions")


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    encoding: BodyEncoding = BodyEncoding.OFF,
) -> web.Response:
    """A JSON body; a model reply is compressed when the client asked for it (``encoding``)."""
    data = dumps_ascii(body)
    if encoding != BodyEncoding.OFF:
        data = encode_body(data, encoding)
        headers = {**(headers or {}), "Content-Encoding": encoding.value}
    return web.Response(body=data, status=status, content_type="application/json", headers=headers)


def reserve_tokens(request: web.Request, tokens: int) -> dict[str, str]:
    """Reserve a request's tokens (429 ApiError when over TPM); returns the headers to send."""
    limiter = request.app[LIMITER]
    key = rate_key(request)
    limiter.admit_tokens(key, tokens)
    return limiter.headers(key)


def _authorized(request: web.Request, api_key: str | None) -> None:
    if api_key is None:
        return
    auth = request.headers.get("Authorization", "")
    if not auth:
        raise missing_api_key()
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), api_key.encode()):
        raise invalid_api_key()


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


@web.middleware
async def openai_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    await request.read()
    request[ARRIVED] = asyncio.get_running_loop().time()
    conn = connection_of(request)
    if conn is not None:
        kind = "ws-handshake" if request.headers.get("Upgrade", "").lower() == "websocket" else "http"
        request[EXCHANGE] = conn.mark(request.app[LEDGER], kind, request.path)
    api = request.path.startswith("/v1/")
    try:
        if api:
            _authorized(request, request.app[CONFIG].api_key)
            if request.method == "POST" and request.path in LIMITED_POSTS:
                request.app[LIMITER].admit_request(rate_key(request))
        resp = await handler(request)
        if api and not resp.prepared:
            for k, v in request.app[LIMITER].headers(rate_key(request)).items():
                resp.headers.setdefault(k, v)
        return resp
    except ApiError as e:
        headers = e.headers
        if headers is None and api:
            headers = request.app[LIMITER].headers(rate_key(request))
        return json_response(e.body(), e.status, headers)
    except ConnectionResetError:
        # The client went away mid-response (an agent stopped, a run ended): nothing is owed and
        # nothing failed here. aiohttp would log a traceback per connection, and a run that stops
        # thousands of agents mid-stream would bury the mock's real errors under them.
        return web.Response(status=499)
    except web.HTTPException as e:
        if e.status >= 400:
            return json_response(_error_body(e.reason, "invalid_request_error"), e.status)
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return json_response(
            _error_body("The server had an error while processing your request.", "server_error"), 500
        )
