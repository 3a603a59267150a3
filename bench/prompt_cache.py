"""What the mock's prompt cache costs it per stateless request, against the same mock without it.

    .venv/bin/python -m bench.prompt_cache         # about 20 seconds

A stateless resend of a long conversation (instructions, a tool, 40 turns of a call and a 3.5 KB
output: about 150 KB) is parsed, planned and its events encoded, in one process pinned to the mock's
core; the prompt cache off and on alternate, so both meet the same machine. Figures: milliseconds of
the mock's CPU per request, and the ratio on/off.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from agentload.core.jsoncodec import dumps_ascii
from agentload.mock.config import LatencyModel, MockConfig
from agentload.mock.engine import Engine
from agentload.mock.requests import parse_create

from .harness import MOCK_CORE, banner, pin, table

ROUNDS = 4
REQUESTS = 300


def stateless_body(turns: int = 40, output_bytes: int = 3500) -> bytes:
    items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": "Fix the failing test."}]
    for i in range(turns):
        items.append(
            {"type": "function_call", "call_id": f"c{i}", "name": "read_file", "arguments": '{"path":"a.py"}'}
        )
        items.append({"type": "function_call_output", "call_id": f"c{i}", "output": "x" * output_bytes})
    tool = {
        "type": "function",
        "name": "read_file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
    body = {
        "model": "gpt-4.1",
        "input": items,
        "instructions": "i" * 4000,
        "tools": [tool],
        "store": False,
        "stream": True,
    }
    return json.dumps(body).encode()


def cpu_ms_per_request(raw: bytes, cache: bool) -> float:
    engine = Engine(MockConfig(latency=LatencyModel.zero(), prompt_cache=cache))
    t = time.process_time()
    for _ in range(REQUESTS):
        gen = engine.start(parse_create(json.loads(raw), websocket=False), None, "key")
        for _, event in gen.events():
            dumps_ascii(event)
    return (time.process_time() - t) / REQUESTS * 1000.0


def main() -> None:
    pin(os.getpid(), MOCK_CORE)
    raw = stateless_body()
    banner(f"Prompt cache cost per stateless request ({len(raw) // 1024} KB body)")
    off, on = [], []
    for _ in range(ROUNDS):
        off.append(cpu_ms_per_request(raw, False))
        on.append(cpu_ms_per_request(raw, True))
    rows = [[f"round {i + 1}", a, b, b / a] for i, (a, b) in enumerate(zip(off, on, strict=True))]
    rows.append(["best of each", min(off), min(on), min(on) / min(off)])
    print(table(["", "cache off, ms", "cache on, ms", "on / off"], rows))


if __name__ == "__main__":
    main()
