"""The Conversations API: ``/v1/conversations`` (create, retrieve, update, delete) and a conversation's
items (add, list, retrieve, delete), as OpenAI's spec and reference have them; the conversations live in
the engine (mock.conversation_store), where a response with ``conversation`` finds them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .conversation_store import item_list
from .errors import bad_request
from .middleware import json_response
from .requests import _metadata, input_items, parse_json_body
from .sse import reply_encoding
from .state import ENGINE

MAX_ITEMS = 20  # items added at a time, at creation and by POST .../items
_CREATE_FIELDS = ("items", "metadata")
_ORDERS = ("asc", "desc")


def _reply(request: web.Request, body: dict[str, Any]) -> web.Response:
    """A JSON answer, compressed as the client's Accept-Encoding asks (as a model reply is)."""
    return json_response(body, encoding=reply_encoding(request))


async def _body(request: web.Request, fields: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object a POST carries (none: empty), with no field but ``fields``."""
    raw = await request.read()
    body = parse_json_body(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_json")
    for key in body:
        if key not in fields:
            raise bad_request(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
    return body


def _items(raw: Any, required: bool) -> list[dict[str, Any]]:
    """``items``: an array of at most 20 input items, each checked as a response's input is."""
    if raw is None:
        if required:
            raise bad_request("Missing required parameter: 'items'.", "items", "missing_required_parameter")
        return []
    if not isinstance(raw, list):
        raise bad_request(
            "Invalid type for 'items': expected an array of input items.", "items", "invalid_type"
        )
    if len(raw) > MAX_ITEMS:
        raise bad_request(
            f"Invalid 'items': array too long. Expected an array with maximum length {MAX_ITEMS}, but got "
            f"an array with length {len(raw)} instead.",
            "items",
            "array_above_max_length",
        )
    return input_items(raw, "items")


def _include(request: web.Request) -> tuple[str, ...]:
    """The ``include`` query parameter (``include=a&include=b``, or ``include[]=``)."""
    return tuple(request.query.getall("include", []) + request.query.getall("include[]", []))


async def create_conversation(request: web.Request) -> web.Response:
    body = await _body(request, _CREATE_FIELDS)
    items = _items(body.get("items"), required=False)
    conv = request.app[ENGINE].conversations.create(_metadata(body.get("metadata") or {}), items)
    return _reply(request, conv.resource())


async def get_conversation(request: web.Request) -> web.Response:
    conv = request.app[ENGINE].conversations.get(request.match_info["conversation_id"])
    return _reply(request, conv.resource())


async def update_conversation(request: web.Request) -> web.Response:
    """POST /v1/conversations/{id}: its metadata replaced (required)."""
    conv = request.app[ENGINE].conversations.get(request.match_info["conversation_id"])
    body = await _body(request, ("metadata",))
    if "metadata" not in body:
        raise bad_request("Missing required parameter: 'metadata'.", "metadata", "missing_required_parameter")
    conv.metadata = _metadata(body["metadata"] or {})
    return _reply(request, conv.resource())


async def delete_conversation(request: web.Request) -> web.Response:
    cid = request.match_info["conversation_id"]
    request.app[ENGINE].conversations.delete(cid)
    return _reply(request, {"id": cid, "object": "conversation.deleted", "deleted": True})


async def add_items(request: web.Request) -> web.Response:
    """POST .../items: the items join the conversation (its next response's input begins with them);
    the answer lists them as added."""
    conv = request.app[ENGINE].conversations.get(request.match_info["conversation_id"])
    body = await _body(request, ("items",))
    ids = conv.add(_items(body.get("items"), required=True), waiting=True)
    include = _include(request)
    return _reply(request, item_list([conv.item(i, include) for i in ids]))


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "20")
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(
            "Invalid type for 'limit': expected an integer, but got a string instead.",
            "limit",
            "invalid_type",
        ) from None
    if limit < 1:
        raise bad_request(
            f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit} instead.",
            "limit",
            "integer_below_min_value",
        )
    if limit > 100:
        raise bad_request(
            f"Invalid 'limit': integer above maximum value. Expected a value <= 100, but got {limit} instead.",
            "limit",
            "integer_above_max_value",
        )
    return limit


async def list_items(request: web.Request) -> web.Response:
    """GET .../items: ``limit`` (1-100, default 20), ``order`` (desc by default), ``after`` an item id."""
    conv = request.app[ENGINE].conversations.get(request.match_info["conversation_id"])
    order = request.query.get("order", "desc")
    if order not in _ORDERS:
        raise bad_request(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "order", "invalid_value"
        )
    page = conv.page(_limit(request), order == "desc", request.query.get("after"), _include(request))
    return _reply(request, page)


async def get_item(request: web.Request) -> web.Response:
    conv = request.app[ENGINE].conversations.get(request.match_info["conversation_id"])
    return _reply(request, conv.item(request.match_info["item_id"], _include(request)))


async def delete_item(request: web.Request) -> web.Response:
    """DELETE .../items/{item_id}: answered with the conversation, as the spec has it."""
    conv = request.app[ENGINE].delete_item(
        request.match_info["conversation_id"], request.match_info["item_id"]
    )
    return _reply(request, conv.resource())


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/conversations", create_conversation)
    r.add_get("/v1/conversations/{conversation_id}", get_conversation)
    r.add_post("/v1/conversations/{conversation_id}", update_conversation)
    r.add_delete("/v1/conversations/{conversation_id}", delete_conversation)
    r.add_post("/v1/conversations/{conversation_id}/items", add_items)
    r.add_get("/v1/conversations/{conversation_id}/items", list_items)
    r.add_get("/v1/conversations/{conversation_id}/items/{item_id}", get_item)
    r.add_delete("/v1/conversations/{conversation_id}/items/{item_id}", delete_item)
