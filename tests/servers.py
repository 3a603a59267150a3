"""Real InfluxDB 1.x and VictoriaMetrics servers on loopback, started (and stopped, and restarted) by tests.

Both come from Debian packages that ``tests/install_services.sh`` installs (``make test`` runs it).
Each server gets its own free port and a temporary data directory, so nothing on the machine is used.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self, TypeVar

import gevent

T = TypeVar("T")

INFLUX_DB = "agentload"  # the database the tests create on their InfluxDB 1.x server
ADMIN = ("admin", "agentload-admin")  # the user of an InfluxDB1(auth=True)


def wait_for(condition: Callable[[], T], timeout: float = 30.0, what: str = "", interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something true and return that; fail the test if it has not
    within ``timeout`` seconds (``what`` names what was awaited). The tests' one way to wait for
    something that takes its time, instead of sleeping a guess and asserting after it.

    It sleeps with gevent's sleep: agents that run in the test's own process (greenlets) go on while it
    waits; in a process without greenlets that is a plain sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what or condition}: last {value!r}"
            )
        gevent.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make test` (it runs tests/install_services.sh)")
    return path


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    """A server process that can be stopped and started again on the same port and data."""

    name = "server"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / f"{self.name}.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if self.ready():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class InfluxDB1(Server):
    """Debian's ``influxdb`` (1.x): writes on /write, reads with InfluxQL on /query."""

    name = "influxd"

    def __init__(self, root: Path, auth: bool = False) -> None:
        super().__init__(root)
        self.rpc_port = free_port()
        self.config = root / "influxdb.conf"
        self.auth = auth  # authentication on, with one admin user (ADMIN)

    def argv(self) -> list[str]:
        r = self.root
        self.config.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{r}/meta"
  logging-enabled = false
[data]
  dir = "{r}/data"
  wal-dir = "{r}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {"true" if self.auth else "false"}
[logging]
  level = "warn"
"""
        )
        return [_binary("influxd"), "run", "-config", str(self.config)]

    def ready(self) -> bool:
        return _get(self.url + "/ping")[0] == 204

    def query(self, q: str, db: str = "") -> list[dict[str, Any]]:
        """InfluxQL; returns the series of the first statement ([] when there are none)."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        req = urllib.request.Request(
            self.url + "/query", data=urllib.parse.urlencode(params).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = json.loads(r.read())
        result = body["results"][0]
        if "error" in result:
            raise RuntimeError(f"InfluxQL error: {result['error']} in {q}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    def start(self, timeout: float = 30.0) -> Self:
        super().start(timeout)
        if self.auth:  # allowed without credentials while there is no user yet
            self.query(f"CREATE USER {ADMIN[0]} WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES")
        return self

    def create_db(self, db: str) -> None:
        self.query(f'CREATE DATABASE "{db}"')


class VictoriaMetrics(Server):
    """Debian's ``victoria-metrics``: takes /api/v2/write (influxdb-client), reads through /api/v1/export."""

    name = "victoria-metrics"

    def argv(self) -> list[str]:
        return [
            _binary("victoria-metrics"),
            f"-storageDataPath={self.root / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-loggerLevel=ERROR",
            "-search.latencyOffset=0s",
        ]

    def ready(self) -> bool:
        return _get(self.url + "/health")[0] == 200

    def export(self, match: str, settle_s: float = 10.0) -> list[dict[str, Any]]:
        """Every raw sample of the series matching ``match``, one dict per series.

        VictoriaMetrics makes new series searchable a moment after ingestion, so this reads until
        two reads half a second apart agree (bounded by ``settle_s``)."""
        end = time.monotonic() + settle_s
        last: list[dict[str, Any]] | None = None
        while True:
            _get(self.url + "/internal/force_flush")
            status, body = _get(self.url + "/api/v1/export?" + urllib.parse.urlencode({"match[]": match}), 30)
            if status != 200:
                raise RuntimeError(f"export failed ({status}): {body[:300]!r}")
            rows = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            rows.sort(key=lambda r: json.dumps(r["metric"], sort_keys=True))
            if (rows and rows == last) or time.monotonic() > end:
                return rows
            last = rows
            time.sleep(0.5)


def make_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for 127.0.0.1 and localhost (openssl's CLI):
    (ca.pem, server.pem, server.key). Agents trust the CA through SSL_CERT_FILE."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr, ext = (
        folder / "server.pem",
        folder / "server.key",
        folder / "server.csr",
        folder / "ext.cnf",
    )
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=agentload test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        subprocess.run([_binary("openssl"), *map(str, cmd)], check=True, capture_output=True, timeout=60)
    return ca, cert, key
