"""The baseline clients' loops, each run in a process of its own by bench/baselines.py:

    python -m bench.clients bare:ws|bare:http-chained|sdk-ws HOST AGENTS SECONDS

prints {"events", "turns", "cpu_s", "wall_s"} measured over SECONDS after a warm-up. Kept apart from
the harness so a gevent child is monkey-patched before anything else is imported.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and sys.argv[1].startswith("bare:"):
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

from agentload.client import Timeouts, api_base  # noqa: E402
from agentload.workload import (
    TextCache,  # noqa: E402
    load_task,  # noqa: E402
)
from bench.harness import MODEL, TASK  # noqa: E402


def run(kind: str, host: str, agents: int, seconds: float) -> None:
    """Runs in its own process on GEN_CORE; prints {"events", "turns", "cpu_s", "wall_s"}."""
    counts = {"events": 0, "turns": 0}
    task, cache, base = load_task(TASK), TextCache(), api_base(host)
    if kind.startswith("bare:"):
        import gevent

        from agentload.client import Agent, AgentSettings, TransportConfig, make_transport
        from agentload.core.records import TurnRecord
        from agentload.core.strategies import BY_NAME

        st = BY_NAME[kind[5:]]
        settings = AgentSettings(st, MODEL, tool_latency_scale=0, outputs=cache)

        def on_turn(r: TurnRecord, _o: object) -> None:
            counts["events"] += r.events
            counts["turns"] += 1

        def agent(i: int) -> None:
            a = Agent(
                settings,
                make_transport(st, base, {}, TransportConfig(Timeouts(10, 60, 60))),
                i,
                on_turn,
                lambda r: None,
            )
            while True:
                a.run_task(task)

        for i in range(agents):
            gevent.spawn(agent, i)
        warmup_s = 1.0
    else:  # sdk-ws: the openai SDK's responses.connect(), one connection per thread
        import threading

        import openai

        from bench.sdk_agent import run_task

        lock = threading.Lock()

        def count(n: int) -> None:
            with lock:
                counts["events"] += n
                counts["turns"] += 1

        def loop() -> None:
            client = openai.OpenAI(api_key="sk-bench-loopback", base_url=base, max_retries=0)
            with client.responses.connect() as conn:

                def respond(kwargs: dict[str, Any]) -> Iterator[Any]:
                    conn.response.create(**kwargs)
                    for event in conn:
                        yield event
                        if event.type in ("response.completed", "response.failed", "error"):
                            return

                while True:
                    run_task(task, MODEL, False, respond, cache, count)

        for _ in range(agents):
            threading.Thread(target=loop, daemon=True).start()
        warmup_s = 2.0
    time.sleep(warmup_s)  # gevent's sleep in a bare child (monkey-patched above)
    e0, t0, c0 = dict(counts), time.perf_counter(), time.process_time()
    time.sleep(seconds)
    e1, t1, c1 = dict(counts), time.perf_counter(), time.process_time()
    result = {"events": e1["events"] - e0["events"], "turns": e1["turns"] - e0["turns"]}
    print(json.dumps({**result, "cpu_s": c1 - c0, "wall_s": t1 - t0}), flush=True)
    os._exit(0)  # daemon threads and greenlets mid-turn: no orderly teardown needed


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
