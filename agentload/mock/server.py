"""Running the mock: in the foreground (``agentload mock``) or as a child process (``MockProcess``).

The mock always runs in its own process, on its own core: its event loop must never share a CPU
with the load generator it is measured by.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .app import start_mock
from .config import MockConfig
from .timers import precise_loop

READY_RE = re.compile(r"agentload mock listening on (https?://\S+)")


async def collect_garbage(interval_s: float) -> None:
    """The mock's garbage collection: all of it at once, every ``interval_s``, and none in between.

    Why: with 1,000 open streams the mock holds ~200,000 objects that the collector tracks (each
    connection's coroutines, buffers and ledger entries). Python's automatic collector scans them all
    every ~20 s, a ~100-140 ms pause in which no token goes out; its younger collections pause 10-50 ms.
    Measured at 1,000 WebSocket agents (bench/generator.py's pacing): the mock's first tokens late by
    111-141 ms at p99.9 with the automatic collector, 17-34 ms with none. Almost nothing the mock makes
    is cyclic garbage (the automatic collections freed 0 objects but at exit), so one collection a
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
        print(f"agentload mock listening on {config.scheme}://{host}:{running.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        collector.cancel()
        await running.close()

    with asyncio.Runner(loop_factory=precise_loop) as runner:
        runner.run(main())


@dataclass
class MockProcess:
    """The mock in a child process; ``with MockProcess(args) as mock: mock.url``."""

    args: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    startup_timeout_s: float = 30.0
    url: str = ""
    proc: subprocess.Popen | None = None
    log_tail: deque = field(default_factory=lambda: deque(maxlen=200))  # its last output lines

    def __enter__(self) -> MockProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> MockProcess:
        cmd = [sys.executable, "-m", "agentload", "mock", "--port", "0", *self.args]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(self.env or {})},
        )
        deadline = time.monotonic() + self.startup_timeout_s
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"mock server exited before it was ready: {err.strip()[-2000:]}")
            m = READY_RE.search(line)
            if m:
                self.url = m.group(1)
                # Read both pipes for the rest of its life: a child that writes into a full pipe blocks,
                # and a mock blocked on a log line stops answering (every agent then times out).
                for f in (self.proc.stdout, self.proc.stderr):
                    threading.Thread(target=self._drain, args=(f,), daemon=True).start()
                return self
        self.stop()
        raise RuntimeError("mock server did not report ready in time")

    def _drain(self, f: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in f:
                self.log_tail.append(line)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            for f in (self.proc.stdout, self.proc.stderr):
                with contextlib.suppress(Exception):
                    f.close()

    def stats(self, exchanges: bool = True) -> dict[str, Any]:
        url = f"{self.url}/_agentload/stats?exchanges={int(exchanges)}"
        with urllib.request.urlopen(url, timeout=10, context=self._control_tls()) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/_agentload/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10, context=self._control_tls()) as r:
            r.read()

    def _control_tls(self) -> ssl.SSLContext | None:
        """The stats and reset calls go to this object's own child process on loopback: over TLS they
        need not verify its (test) certificate. The agents verify it as any server's."""
        if not self.url.startswith("https://"):
            return None
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
