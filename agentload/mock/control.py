"""The mock's own endpoints: /v1/models (what clients list), and the control endpoints under
/_agentload (its exact byte ledger, a reset, health)."""

from __future__ import annotations

import gc
from typing import Any

from aiohttp import web

from .errors import ApiError
from .middleware import json_response
from .state import CONFIG, ENGINE, FAULTS, LEDGER, LIMITER, WS_STATS
from .ws import LANE_STATS


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
            "gc": gc_snapshot(),
            "model": request.app[ENGINE].snapshot(),
            "websocket": {
                "deflate_connections": request.app[WS_STATS]["deflate"],
                **{k: request.app[WS_STATS][k] for k in LANE_STATS},
            },
        }
    )


def gc_snapshot() -> dict[str, Any]:
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
    request.app[ENGINE].starts.clear()
    request.app[ENGINE].input_items.clear()
    request.app[ENGINE].continuity.reset()
    request.app[ENGINE].forks.reset()
    request.app[ENGINE].conversations.counts.clear()
    request.app[WS_STATS].clear()
    return json_response({"reset": True})


async def tasks(request: web.Request) -> web.Response:
    """Which of the tasks named (``?name=a&name=b``) this mock can play: what agentload's start-up
    check asks, so a run whose task the mock does not know stops at once with one line."""
    model = request.app[ENGINE].model
    known, unknown = [], []
    for name in request.query.getall("name", []):
        try:
            model.task(name)
            known.append(name)
        except ApiError:
            unknown.append(name)
    return json_response({"known": known, "unknown": unknown})


async def continuity(request: web.Request) -> web.Response:
    """What reached the mock of each agentload conversation, per strategy (mock.continuity): what
    ``agentload gateway`` reads once its agents ran through a gateway with this mock as its upstream."""
    return json_response(request.app[ENGINE].continuity.snapshot())


async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})
