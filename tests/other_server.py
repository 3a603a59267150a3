"""A small OpenAI-compatible server that is not agentload's mock, misbehaving as real ones do (#28).

    python -m tests.other_server --port N [--base /openai/v1] [--ws serve|empty|page] [--refuse models|turns]

It serves the API at ``--base`` only (elsewhere: 404) and answers every model request with one short
message and no tool call, as LiteLLM relays one: no ``event:`` lines, each text delta preceded by an
empty ``"delta": ""`` (a chat chunk with ``"content": ""``) that comes ``EMPTY_LEAD_S`` before the
first real piece, ``usage: null`` (chat: no usage chunk), and ``data: [DONE]`` after the Responses
stream too. ``--ws``: WebSocket mode served the same way, or its upgrade answered with nothing (the
connection closed) or with a 200 page. ``--refuse``: a 400 in OpenAI's error shape, echoing the key
as LiteLLM without a database does (``no_db_connection``), to ``GET /models`` or to every model
request. One line per request on stdout (method, path), for the tests to count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from aiohttp import WSMsgType, web

EMPTY_LEAD_S = 0.3  # from the empty delta to the first piece of output: TTFT must include it
TEXT = "Done."


def _log(request: web.Request) -> None:
    print(request.method, request.path, flush=True)


def _refusal(request: web.Request) -> web.Response:
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    body = {
        "error": {
            "message": f"No connected db. Received API Key = {key}, Key Hash (Token) = {'3e4f5a6b' * 8}",
            "type": "no_db_connection",
            "param": "None",
            "code": "400",
        }
    }
    return web.json_response(body, status=400)


def _response(rid: str, status: str) -> dict[str, Any]:
    output = []
    if status == "completed":
        output = [
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": TEXT, "annotations": []}],
            }
        ]
    return {"id": rid, "object": "response", "status": status, "output": output, "usage": None}


def _responses_events(rid: str) -> list[dict[str, Any] | float]:
    """The events of one response; a float is a pause before the next."""
    delta = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0}
    return [
        {"type": "response.created", "response": _response(rid, "in_progress")},
        {**delta, "delta": ""},
        EMPTY_LEAD_S,
        {**delta, "delta": TEXT},
        {"type": "response.completed", "response": _response(rid, "completed")},
    ]


class OtherServer:
    def __init__(self, base: str, ws: str, refuse: str) -> None:
        self.base, self.ws, self.refuse = base.rstrip("/"), ws, refuse
        self.n = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(self.base + "/models", self.models)
        app.router.add_post(self.base + "/responses", self.responses)
        app.router.add_get(self.base + "/responses", self.websocket)
        app.router.add_post(self.base + "/chat/completions", self.chat)
        app.middlewares.append(self.log)
        return app

    @web.middleware
    async def log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        _log(request)
        resp: web.StreamResponse = await handler(request)
        return resp

    async def models(self, request: web.Request) -> web.Response:
        if self.refuse == "models":
            return _refusal(request)
        return web.json_response({"object": "list", "data": [{"id": "gpt-5.4", "object": "model"}]})

    def _rid(self) -> str:
        self.n += 1
        return f"resp_{self.n}"

    async def responses(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        if self.refuse == "turns":
            return _refusal(request)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for e in _responses_events(self._rid()):
            if isinstance(e, float):
                await asyncio.sleep(e)
            else:
                await resp.write(b"data: " + json.dumps(e).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def chat(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        if self.refuse == "turns":
            return _refusal(request)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            c: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-5.4"}
            c["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            return b"data: " + json.dumps(c).encode() + b"\n\n"

        await resp.write(chunk({"role": "assistant", "content": ""}))
        await asyncio.sleep(EMPTY_LEAD_S)
        await resp.write(chunk({"content": TEXT}))
        await resp.write(chunk({}, "stop"))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if self.ws == "empty":  # the upgrade answered with nothing: the connection closed
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if self.ws == "page":
            return web.Response(text="<html>not here</html>", content_type="text/html")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                for e in _responses_events(self._rid()):
                    if isinstance(e, float):
                        await asyncio.sleep(e)
                    else:
                        await ws.send_str(json.dumps(e))
        except ConnectionResetError:  # the run stopped mid-response: the agent went
            pass
        return ws


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--base", default="/v1")
    p.add_argument("--ws", choices=("serve", "empty", "page"), default="serve")
    p.add_argument("--refuse", choices=("", "models", "turns"), default="")
    a = p.parse_args(argv)
    web.run_app(OtherServer(a.base, a.ws, a.refuse).app(), host="127.0.0.1", port=a.port, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
