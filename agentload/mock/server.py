"""Serving the mock in the foreground (``agentload mock``): the app on the mock's own event loop, its
garbage collection on its own schedule, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import signal

from .app import start_mock
from .config import MockConfig
from .process import READY_LINE
from .timers import precise_loop


async def collect_garbage(interval_s: float) -> None:
    """The mock's garbage collection: all of it at once, every ``interval_s``, and none in between.

    Why: with many open streams the mock holds hundreds of thousands of objects that the collector
    tracks (each connection's coroutines, buffers and ledger entries), and Python's automatic collector
    scans them all now and then, a pause in which no token goes out (how long, and what it did to first
    tokens: docs/performance.md). Almost nothing the mock makes is cyclic garbage, so one collection a
    minute keeps memory flat and costs one pause a minute. What is alive at start (the task scripts,
    modules) is frozen out of every collection. ``interval_s`` 0 keeps Python's automatic collector."""
    gc.collect()
    gc.freeze()
    if interval_s <= 0:
        return
    gc.disable()
    try:
        while True:
            await asyncio.sleep(interval_s)
            gc.collect()
    finally:
        gc.enable()


def serve(config: MockConfig) -> None:
    """Serve until SIGINT/SIGTERM. Prints one ready line with the URL (port 0 resolved)."""

    async def main() -> None:
        running = await start_mock(config)
        collector = asyncio.create_task(collect_garbage(config.gc_interval_s))
        host = f"[{config.host}]" if ":" in config.host else config.host
        print(f"{READY_LINE} {config.scheme}://{host}:{running.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        collector.cancel()
        await running.close()

    with asyncio.Runner(loop_factory=precise_loop) as runner:
        runner.run(main())
