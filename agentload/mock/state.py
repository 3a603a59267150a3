"""The mock's shared state, typed: what the app holds (AppKeys) and what each request carries (RequestKeys).

One low module every handler imports, so the handlers never import the module that assembles the app
(aiohttp's AppKey idiom).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web

from .config import MockConfig
from .engine import Engine
from .faults import FaultInjector
from .ledger import ByteLedger, Exchange
from .ratelimit import RateLimiter, key_of

CONFIG: web.AppKey[MockConfig] = web.AppKey("config", MockConfig)
ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
LEDGER: web.AppKey[ByteLedger] = web.AppKey("ledger", ByteLedger)
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter", RateLimiter)
FAULTS: web.AppKey[FaultInjector] = web.AppKey("faults", FaultInjector)
WS_STATS: web.AppKey[Counter[str]] = web.AppKey("ws_stats", Counter)  # e.g. connections with deflate

EXCHANGE: web.RequestKey[Exchange] = web.RequestKey("exchange", Exchange)  # the request's ledger entry
ARRIVED: web.RequestKey[float] = web.RequestKey("arrived", float)  # its last byte's arrival (loop time)


def rate_key(request: web.Request) -> str:
    """The caller's rate-limit bucket: a hash of its Authorization header (the key is never kept)."""
    return key_of(request.headers.get("Authorization"))


def arrived_at(request: web.Request) -> float:
    """Where a response's modelled TTFT starts: when its request's last byte reached the mock, as a
    real server can start no sooner (a slow uplink still costs its time on top). Parsing the body and
    the rest of the mock's handling then fall inside the TTFT, not on top of the one a client measures."""
    arrived = request.get(ARRIVED)
    return arrived if arrived is not None else asyncio.get_running_loop().time()


def exchange_of(request: web.Request) -> Exchange | None:
    return request.get(EXCHANGE)
