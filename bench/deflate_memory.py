"""permessage-deflate's cost per connection: the zlib state an agent's WebSocket holds (its compressor
for what it sends, its decompressor for what the server sends), by window bits and memLevel, with the
compression each choice gives on an agent's traffic, against zlib's defaults (15 bits, memLevel 8) in
the same run.

    .venv/bin/python -m bench.deflate_memory

The state is measured with tracemalloc (CPython's zlib allocates through PyMem_RawMalloc, which it
traces) after each connection has sent a continuation and received a turn's events, as an open idle
agent holds it; "10,000 agents" multiplies that. The traffic is a coding agent's: response.create
continuations carrying tool output, and the stream of delta events a turn receives.
"""

from __future__ import annotations

import json
import random
import tracemalloc

from agentload.core.deflate import MessageDeflate, MessageInflate, mem_level_for

from .harness import banner, table

CONNECTIONS = 200
TURNS = 6


def traffic(seed: int = 7) -> tuple[list[bytes], list[bytes]]:
    """(what an agent sends, what it receives) over a few turns, as JSON messages."""
    rng = random.Random(seed)
    words = [
        w * rng.randint(1, 3) for w in ("def", "test", "return", "self", "import", "assert", "value", "x")
    ]
    sent, received = [], []
    for turn in range(TURNS):
        output = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(40))
        sent.append(json.dumps({
            "type": "response.create", "model": "gpt-5.4", "store": False, "previous_response_id": f"resp_{turn:024x}",
            "input": [{"type": "function_call_output", "call_id": f"call_{turn:020x}", "output": output}],
        }).encode())  # fmt: skip
        for i in range(120):
            received.append(json.dumps({
                "type": "response.output_text.delta", "item_id": f"msg_{turn:030x}", "output_index": 0,
                "content_index": 0, "delta": rng.choice(words) + " ", "sequence_number": i,
                "obfuscation": "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(4, 12))),
            }).encode())  # fmt: skip
    return sent, received


def measure(
    bits: int, mem_level: int, sent: list[bytes], received: list[bytes]
) -> tuple[float, float, float]:
    """(KiB of zlib state per connection, sent ratio, received ratio)."""
    # what the server sends, compressed as a server would with the same window
    server = MessageDeflate(bits, False, mem_level=mem_level)
    frames = [server.compress(m) for m in received]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    held = []
    out_bytes = 0
    for _ in range(CONNECTIONS):
        d, i = MessageDeflate(bits, False, mem_level=mem_level), MessageInflate(bits, False)
        out_bytes = sum(len(d.compress(m)) for m in sent)
        for f in frames:
            i.decompress(f)
        held.append((d, i))
    per = (tracemalloc.get_traced_memory()[0] - base) / CONNECTIONS
    tracemalloc.stop()
    in_ratio = sum(map(len, frames)) / sum(map(len, received))
    return per / 1024, out_bytes / sum(map(len, sent)), in_ratio


def main() -> None:
    banner("permessage-deflate: zlib state per WebSocket connection, and what it compresses")
    sent, received = traffic()
    rows = []
    base = measure(15, 8, sent, received)
    for bits, level in (
        (15, 8),
        (15, 4),
        (13, mem_level_for(13)),
        (12, mem_level_for(12)),
        (10, mem_level_for(10)),
        (9, 1),
    ):
        kib, out_r, in_r = measure(bits, level, sent, received)
        rows.append(
            [bits, level, kib, kib * 10_000 / 1024, f"{out_r:.1%}", f"{in_r:.1%}", f"{kib / base[0]:.2f}x"]
        )
    print(table(["window bits", "memLevel", "KiB per connection", "MiB for 10,000", "sent: compressed/payload",
                 "received: compressed/payload", "state vs 15/8"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
