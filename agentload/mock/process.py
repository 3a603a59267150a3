"""The mock in a child process (``MockProcess``): what the sweeps, the demo, the benchmarks and the tests
start. The mock always runs in a process of its own, on its own core: its event loop must never share
a CPU with the load generator it is measured by. This module imports no aiohttp, so a Locust process
(gevent-patched) can start a mock."""

from __future__ import annotations

import contextlib
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

READY_LINE = "agentload mock listening on"
READY_RE = re.compile(re.escape(READY_LINE) + r" (https?://\S+)")


@dataclass
class MockProcess:
    """The mock in a child process; ``with MockProcess(args) as mock: mock.url``."""

    args: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    startup_timeout_s: float = 30.0
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    log_tail: deque[str] = field(default_factory=lambda: deque(maxlen=200))  # its last output lines

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
                if f is not None:
                    with contextlib.suppress(Exception):
                        f.close()

    def stats(self, exchanges: bool = True) -> dict[str, Any]:
        url = f"{self.url}/_agentload/stats?exchanges={int(exchanges)}"
        with urllib.request.urlopen(url, timeout=10, context=self._control_tls()) as r:
            stats: dict[str, Any] = json.loads(r.read())
            return stats

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
